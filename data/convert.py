"""Converts an official dataset download into the canonical CSV the manifest's sha256 describes.

Node has no reader for the two official formats used here (a legacy .xls inside a zip, and an R .rda inside
the package tarball), so `npm run data` calls this with the project venv's Python. Output follows R's
write.csv layout (quoted header and strings, bare numbers, 15 significant digits, LF line ends).

usage: convert.py FORMAT DOWNLOAD ENTRY OUT [DOUBLE_COLUMNS]
  FORMAT          uci-xls-zip | r-rda-tarball
  DOUBLE_COLUMNS  comma-separated columns R stored as doubles: R prints those with 15 significant digits
                  and in scientific notation when that is shorter (500000 -> 5e+05)
"""

import csv
import io
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import pandas as pd

UCI_TARGET = "default payment next month"


def r_double(value: float) -> str:
    """as.character() of an R double: 15 significant digits, scientific when strictly shorter."""
    if value != value:
        return "NA"
    fixed = f"{value:.15g}"
    if "e" in fixed:
        mantissa, exponent = fixed.split("e")
        fixed = f"{float(value):.{max(0, -int(exponent) + len(mantissa.replace('-', '').replace('.', '')) - 1)}f}"
    digits = f"{value:.14e}".split("e")[0].rstrip("0").rstrip(".")
    exponent = int(f"{value:.14e}".split("e")[1])
    sci = f"{digits}e{'+' if exponent >= 0 else '-'}{abs(exponent):02d}"
    return sci if len(sci) < len(fixed) else fixed


def cell(value: object, double: bool) -> str:
    if isinstance(value, str):
        return '"' + value.replace('"', '""') + '"'
    if pd.isna(value):
        return "NA"
    if double:
        return r_double(float(value))
    number = float(value)
    return str(int(number)) if number.is_integer() else f"{number:.15g}"


def write_canonical(frame: pd.DataFrame, out: Path, doubles: set[str]) -> None:
    with open(out, "w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(f'"{c}"' for c in frame.columns) + "\n")
        flags = [c in doubles for c in frame.columns]
        for row in frame.itertuples(index=False, name=None):
            handle.write(",".join(cell(v, d) for v, d in zip(row, flags)) + "\n")


def uci_xls_zip(download: Path, entry: str) -> pd.DataFrame:
    with zipfile.ZipFile(download) as archive:
        data = archive.read(entry)
    # Row 1 holds X1..X23, Y; row 2 the descriptive names used by the canonical CSV.
    frame = pd.read_excel(io.BytesIO(data), header=1, engine="xlrd")  # .xls (BIFF8) needs xlrd
    return frame.rename(columns={UCI_TARGET: "default.payment.next.month"})


def r_rda_tarball(download: Path, entry: str) -> pd.DataFrame:
    import pyreadr

    with tarfile.open(download) as archive, tempfile.TemporaryDirectory() as tmp:
        member = archive.getmember(entry)
        archive.extract(member, tmp, filter="data")
        result = pyreadr.read_r(str(Path(tmp) / entry))
    (frame,) = result.values()
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.CategoricalDtype):
            frame[column] = frame[column].astype(str)
    return frame


def main() -> None:
    fmt, download, entry, out = sys.argv[1:5]
    doubles = set(filter(None, (sys.argv[5] if len(sys.argv) > 5 else "").split(",")))
    readers = {"uci-xls-zip": uci_xls_zip, "r-rda-tarball": r_rda_tarball}
    if fmt not in readers:
        sys.exit(f"unknown format {fmt!r}; expected one of {', '.join(readers)}")
    write_canonical(readers[fmt](Path(download), entry), Path(out), doubles)


if __name__ == "__main__":
    main()
