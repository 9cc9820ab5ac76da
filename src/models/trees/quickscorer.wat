;; QuickScorer's row loop for gbdt ensembles (src/models/trees/predict.ts builds the tables and codes the rows).
;; Compiled by `npm run build:wasm` (scripts/build-wasm.ts, wabt) into quickscorer-wasm.ts; a unit test checks
;; that the committed bytes are this file's.
;;
;; For each row i of the block: bits[t] = −1 for every tree; for every feature f some node splits on, the code c
;; (a NaN's code 0x7fffffff becomes nan[f]) selects two ranges of (tree, mask) entries whose masks are ANDed into
;; bits[tree]; then every tree adds the value of its leftmost surviving leaf, leaf[t·32 + ctz(bits[t])], to
;; sums[i·width + out[t]], in tree order — the same additions in the same order as the JavaScript loop.
;; Every pointer is a byte offset into the imported memory; arrays are i32 except leaf and sums (f64).
(module
  (memory (import "env" "memory") 1)
  (func (export "score")
    (param $rows i32) (param $cols i32) (param $codes i32)
    (param $nUsed i32) (param $used i32) (param $tab i32) (param $nan i32)
    (param $from i32) (param $to i32) (param $from2 i32) (param $to2 i32)
    (param $etree i32) (param $emask i32)
    (param $trees i32) (param $bits i32) (param $out i32) (param $leaf i32)
    (param $width i32) (param $sums i32)
    (local $i i32) (local $t i32) (local $u i32) (local $f i32) (local $c i32) (local $at i32)
    (local $j i32) (local $end i32) (local $base i32) (local $p i32) (local $s i32)
    (local.set $i (i32.const 0))
    (block $rows_done
      (loop $row
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $rows)))
        ;; bits[t] = −1
        (local.set $t (i32.const 0))
        (block $fill_done
          (loop $fill
            (br_if $fill_done (i32.ge_u (local.get $t) (local.get $trees)))
            (i32.store (i32.add (local.get $bits) (i32.shl (local.get $t) (i32.const 2))) (i32.const -1))
            (local.set $t (i32.add (local.get $t) (i32.const 1)))
            (br $fill)))
        (local.set $base
          (i32.add (local.get $codes) (i32.shl (i32.mul (local.get $i) (local.get $cols)) (i32.const 2))))
        ;; the false nodes of every feature
        (local.set $u (i32.const 0))
        (block $features_done
          (loop $feature
            (br_if $features_done (i32.ge_u (local.get $u) (local.get $nUsed)))
            (local.set $f (i32.load (i32.add (local.get $used) (i32.shl (local.get $u) (i32.const 2)))))
            (local.set $c (i32.load (i32.add (local.get $base) (i32.shl (local.get $f) (i32.const 2)))))
            (if (i32.eq (local.get $c) (i32.const 0x7fffffff))
              (then (local.set $c (i32.load (i32.add (local.get $nan) (i32.shl (local.get $f) (i32.const 2)))))))
            (local.set $at
              (i32.shl
                (i32.add (i32.load (i32.add (local.get $tab) (i32.shl (local.get $f) (i32.const 2)))) (local.get $c))
                (i32.const 2)))
            ;; range 1
            (local.set $j (i32.load (i32.add (local.get $from) (local.get $at))))
            (local.set $end (i32.load (i32.add (local.get $to) (local.get $at))))
            (block $r1_done
              (loop $r1
                (br_if $r1_done (i32.ge_u (local.get $j) (local.get $end)))
                (local.set $p
                  (i32.add (local.get $bits)
                    (i32.shl (i32.load (i32.add (local.get $etree) (i32.shl (local.get $j) (i32.const 2)))) (i32.const 2))))
                (i32.store (local.get $p)
                  (i32.and (i32.load (local.get $p))
                    (i32.load (i32.add (local.get $emask) (i32.shl (local.get $j) (i32.const 2))))))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $r1)))
            ;; range 2
            (local.set $j (i32.load (i32.add (local.get $from2) (local.get $at))))
            (local.set $end (i32.load (i32.add (local.get $to2) (local.get $at))))
            (block $r2_done
              (loop $r2
                (br_if $r2_done (i32.ge_u (local.get $j) (local.get $end)))
                (local.set $p
                  (i32.add (local.get $bits)
                    (i32.shl (i32.load (i32.add (local.get $etree) (i32.shl (local.get $j) (i32.const 2)))) (i32.const 2))))
                (i32.store (local.get $p)
                  (i32.and (i32.load (local.get $p))
                    (i32.load (i32.add (local.get $emask) (i32.shl (local.get $j) (i32.const 2))))))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $r2)))
            (local.set $u (i32.add (local.get $u) (i32.const 1)))
            (br $feature)))
        ;; every tree's leftmost surviving leaf, summed in tree order
        (local.set $s
          (i32.add (local.get $sums) (i32.shl (i32.mul (local.get $i) (local.get $width)) (i32.const 3))))
        (local.set $t (i32.const 0))
        (block $trees_done
          (loop $tree
            (br_if $trees_done (i32.ge_u (local.get $t) (local.get $trees)))
            (local.set $p
              (i32.add (local.get $s)
                (i32.shl (i32.load (i32.add (local.get $out) (i32.shl (local.get $t) (i32.const 2)))) (i32.const 3))))
            (f64.store (local.get $p)
              (f64.add (f64.load (local.get $p))
                (f64.load
                  (i32.add (local.get $leaf)
                    (i32.shl
                      (i32.add (i32.shl (local.get $t) (i32.const 5))
                        (i32.ctz (i32.load (i32.add (local.get $bits) (i32.shl (local.get $t) (i32.const 2))))))
                      (i32.const 3))))))
            (local.set $t (i32.add (local.get $t) (i32.const 1)))
            (br $tree)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $row)))))
