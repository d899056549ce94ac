;; Batch prediction for @mlsd/gbdt's Predictor (see predictor.ts for the node layout).
;; Node i: i32 feature at nodes + 16i, i32 first child at +4, i32 "missing goes right" at +8;
;; thresholds and leaf values are f64 arrays indexed by node. A step is branch-free:
;; next = firstChild + ((x > threshold) | (isNaN(x) & missingRight)); leaves point to themselves.
(module
  (memory (export "memory") 1)

  ;; out[r] += sum of the leaf values of trees [0, numTrees) for rows [0, rows) of x (f64,
  ;; row-major, `width` values per row), added tree by tree in model order. Trees are walked four
  ;; at a time in lockstep, each group for the whole block before the next group.
  (func (export "predictBlock")
    (param $nodes i32) (param $thr i32) (param $leaf i32) (param $roots i32) (param $groupDepth i32) (param $numTrees i32)
    (param $x i32) (param $width i32) (param $rows i32) (param $out i32)
    (local $t i32) (local $r i32) (local $step i32) (local $depth i32) (local $row i32) (local $o i32)
    (local $ra i32) (local $rb i32) (local $rc i32) (local $rd i32)
    (local $a i32) (local $b i32) (local $c i32) (local $d i32)
    (local $na i32) (local $nb i32) (local $nc i32) (local $nd i32)
    (local $va f64) (local $vb f64) (local $vc f64) (local $vd f64) (local $sum f64)
    (local $rowBytes i32) (local $next i32) (local $v f64)
    (local.set $rowBytes (i32.shl (local.get $width) (i32.const 3)))
    (block $groupsDone
      (loop $group
        (br_if $groupsDone (i32.gt_u (i32.add (local.get $t) (i32.const 4)) (local.get $numTrees)))
        (local.set $ra (i32.load (i32.add (local.get $roots) (i32.shl (local.get $t) (i32.const 2)))))
        (local.set $rb (i32.load offset=4 (i32.add (local.get $roots) (i32.shl (local.get $t) (i32.const 2)))))
        (local.set $rc (i32.load offset=8 (i32.add (local.get $roots) (i32.shl (local.get $t) (i32.const 2)))))
        (local.set $rd (i32.load offset=12 (i32.add (local.get $roots) (i32.shl (local.get $t) (i32.const 2)))))
        (local.set $depth (i32.load (i32.add (local.get $groupDepth) (i32.shl (i32.shr_u (local.get $t) (i32.const 2)) (i32.const 2)))))
        (local.set $r (i32.const 0))
        (local.set $row (local.get $x))
        (block $rowsDone
          (loop $eachRow
            (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rows)))
            (local.set $a (local.get $ra)) (local.set $b (local.get $rb))
            (local.set $c (local.get $rc)) (local.set $d (local.get $rd))
            (local.set $step (i32.const 0))
            (block $walked
              (loop $walk
                (br_if $walked (i32.ge_u (local.get $step) (local.get $depth)))
                (local.set $na (i32.add (local.get $nodes) (i32.shl (local.get $a) (i32.const 4))))
                (local.set $nb (i32.add (local.get $nodes) (i32.shl (local.get $b) (i32.const 4))))
                (local.set $nc (i32.add (local.get $nodes) (i32.shl (local.get $c) (i32.const 4))))
                (local.set $nd (i32.add (local.get $nodes) (i32.shl (local.get $d) (i32.const 4))))
                (local.set $va (f64.load (i32.add (local.get $row) (i32.shl (i32.load (local.get $na)) (i32.const 3)))))
                (local.set $vb (f64.load (i32.add (local.get $row) (i32.shl (i32.load (local.get $nb)) (i32.const 3)))))
                (local.set $vc (f64.load (i32.add (local.get $row) (i32.shl (i32.load (local.get $nc)) (i32.const 3)))))
                (local.set $vd (f64.load (i32.add (local.get $row) (i32.shl (i32.load (local.get $nd)) (i32.const 3)))))
                (local.set $a (i32.add (i32.load offset=4 (local.get $na))
                  (i32.or (f64.gt (local.get $va) (f64.load (i32.add (local.get $thr) (i32.shl (local.get $a) (i32.const 3)))))
                          (i32.and (f64.ne (local.get $va) (local.get $va)) (i32.load offset=8 (local.get $na))))))
                (local.set $b (i32.add (i32.load offset=4 (local.get $nb))
                  (i32.or (f64.gt (local.get $vb) (f64.load (i32.add (local.get $thr) (i32.shl (local.get $b) (i32.const 3)))))
                          (i32.and (f64.ne (local.get $vb) (local.get $vb)) (i32.load offset=8 (local.get $nb))))))
                (local.set $c (i32.add (i32.load offset=4 (local.get $nc))
                  (i32.or (f64.gt (local.get $vc) (f64.load (i32.add (local.get $thr) (i32.shl (local.get $c) (i32.const 3)))))
                          (i32.and (f64.ne (local.get $vc) (local.get $vc)) (i32.load offset=8 (local.get $nc))))))
                (local.set $d (i32.add (i32.load offset=4 (local.get $nd))
                  (i32.or (f64.gt (local.get $vd) (f64.load (i32.add (local.get $thr) (i32.shl (local.get $d) (i32.const 3)))))
                          (i32.and (f64.ne (local.get $vd) (local.get $vd)) (i32.load offset=8 (local.get $nd))))))
                (local.set $step (i32.add (local.get $step) (i32.const 1)))
                (br $walk)))
            (local.set $o (i32.add (local.get $out) (i32.shl (local.get $r) (i32.const 3))))
            (local.set $sum (f64.load (local.get $o)))
            (local.set $sum (f64.add (local.get $sum) (f64.load (i32.add (local.get $leaf) (i32.shl (local.get $a) (i32.const 3))))))
            (local.set $sum (f64.add (local.get $sum) (f64.load (i32.add (local.get $leaf) (i32.shl (local.get $b) (i32.const 3))))))
            (local.set $sum (f64.add (local.get $sum) (f64.load (i32.add (local.get $leaf) (i32.shl (local.get $c) (i32.const 3))))))
            (local.set $sum (f64.add (local.get $sum) (f64.load (i32.add (local.get $leaf) (i32.shl (local.get $d) (i32.const 3))))))
            (f64.store (local.get $o) (local.get $sum))
            (local.set $row (i32.add (local.get $row) (local.get $rowBytes)))
            (local.set $r (i32.add (local.get $r) (i32.const 1)))
            (br $eachRow)))
        (local.set $t (i32.add (local.get $t) (i32.const 4)))
        (br $group)))
    ;; The last numTrees % 4 trees, one at a time, walked until a leaf (which points to itself).
    (block $restDone
      (loop $rest
        (br_if $restDone (i32.ge_u (local.get $t) (local.get $numTrees)))
        (local.set $ra (i32.load (i32.add (local.get $roots) (i32.shl (local.get $t) (i32.const 2)))))
        (local.set $r (i32.const 0))
        (local.set $row (local.get $x))
        (block $rowsDone
          (loop $eachRow
            (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rows)))
            (local.set $a (local.get $ra))
            (block $walked
              (loop $walk
                (local.set $na (i32.add (local.get $nodes) (i32.shl (local.get $a) (i32.const 4))))
                (local.set $v (f64.load (i32.add (local.get $row) (i32.shl (i32.load (local.get $na)) (i32.const 3)))))
                (local.set $next (i32.add (i32.load offset=4 (local.get $na))
                  (i32.or (f64.gt (local.get $v) (f64.load (i32.add (local.get $thr) (i32.shl (local.get $a) (i32.const 3)))))
                          (i32.and (f64.ne (local.get $v) (local.get $v)) (i32.load offset=8 (local.get $na))))))
                (br_if $walked (i32.eq (local.get $next) (local.get $a)))
                (local.set $a (local.get $next))
                (br $walk)))
            (local.set $o (i32.add (local.get $out) (i32.shl (local.get $r) (i32.const 3))))
            (f64.store (local.get $o) (f64.add (f64.load (local.get $o)) (f64.load (i32.add (local.get $leaf) (i32.shl (local.get $a) (i32.const 3))))))
            (local.set $row (i32.add (local.get $row) (local.get $rowBytes)))
            (local.set $r (i32.add (local.get $r) (i32.const 1)))
            (br $eachRow)))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $rest)))
  )
)
