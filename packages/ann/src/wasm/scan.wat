;; Inner-product scans for @mlsd/ann (see float-rows.ts for the memory layout).
;; Items are float32 rows of `stride` values (dim rounded up to a multiple of 4, zero padded);
;; the query is float64 with the same padding. Each product is taken in float64, as the JS scan
;; did, so scores match the inner product to ~1e-15; two f64x2 accumulators per row and two rows
;; per iteration keep four independent add chains in flight.
(module
  (memory (export "memory") 1)

  ;; out[r] = <q, row r> for r in [0, rows).
  (func (export "scoreRows") (param $data i32) (param $rows i32) (param $stride i32) (param $q i32) (param $out i32)
    (local $r i32) (local $j i32) (local $p0 i32) (local $p1 i32) (local $qp i32) (local $rowBytes i32)
    (local $a0 v128) (local $a1 v128) (local $b0 v128) (local $b1 v128)
    (local $x v128) (local $y v128) (local $q0 v128) (local $q1 v128)
    (local.set $rowBytes (i32.shl (local.get $stride) (i32.const 2)))
    (local.set $p0 (local.get $data))
    (block $done
      (loop $pair
        (br_if $done (i32.ge_u (i32.add (local.get $r) (i32.const 1)) (local.get $rows)))
        (local.set $p1 (i32.add (local.get $p0) (local.get $rowBytes)))
        (local.set $a0 (v128.const i64x2 0 0)) (local.set $a1 (v128.const i64x2 0 0))
        (local.set $b0 (v128.const i64x2 0 0)) (local.set $b1 (v128.const i64x2 0 0))
        (local.set $j (i32.const 0))
        (local.set $qp (local.get $q))
        (block $rowdone
          (loop $dims
            (br_if $rowdone (i32.ge_u (local.get $j) (local.get $rowBytes)))
            (local.set $q0 (v128.load (local.get $qp)))
            (local.set $q1 (v128.load offset=16 (local.get $qp)))
            (local.set $x (v128.load (i32.add (local.get $p0) (local.get $j))))
            (local.set $y (v128.load (i32.add (local.get $p1) (local.get $j))))
            (local.set $a0 (f64x2.add (local.get $a0) (f64x2.mul (f64x2.promote_low_f32x4 (local.get $x)) (local.get $q0))))
            (local.set $a1 (f64x2.add (local.get $a1)
              (f64x2.mul (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $x) (local.get $x))) (local.get $q1))))
            (local.set $b0 (f64x2.add (local.get $b0) (f64x2.mul (f64x2.promote_low_f32x4 (local.get $y)) (local.get $q0))))
            (local.set $b1 (f64x2.add (local.get $b1)
              (f64x2.mul (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $y) (local.get $y))) (local.get $q1))))
            (local.set $qp (i32.add (local.get $qp) (i32.const 32)))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $dims)))
        (local.set $a0 (f64x2.add (local.get $a0) (local.get $a1)))
        (local.set $b0 (f64x2.add (local.get $b0) (local.get $b1)))
        (f64.store (local.get $out) (f64.add (f64x2.extract_lane 0 (local.get $a0)) (f64x2.extract_lane 1 (local.get $a0))))
        (f64.store offset=8 (local.get $out) (f64.add (f64x2.extract_lane 0 (local.get $b0)) (f64x2.extract_lane 1 (local.get $b0))))
        (local.set $out (i32.add (local.get $out) (i32.const 16)))
        (local.set $p0 (i32.add (local.get $p1) (local.get $rowBytes)))
        (local.set $r (i32.add (local.get $r) (i32.const 2)))
        (br $pair)))
    ;; An odd last row.
    (if (i32.lt_u (local.get $r) (local.get $rows))
      (then
        (local.set $a0 (v128.const i64x2 0 0)) (local.set $a1 (v128.const i64x2 0 0))
        (local.set $j (i32.const 0))
        (local.set $qp (local.get $q))
        (block $rowdone
          (loop $dims
            (br_if $rowdone (i32.ge_u (local.get $j) (local.get $rowBytes)))
            (local.set $x (v128.load (i32.add (local.get $p0) (local.get $j))))
            (local.set $a0 (f64x2.add (local.get $a0) (f64x2.mul (f64x2.promote_low_f32x4 (local.get $x)) (v128.load (local.get $qp)))))
            (local.set $a1 (f64x2.add (local.get $a1)
              (f64x2.mul (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $x) (local.get $x))) (v128.load offset=16 (local.get $qp)))))
            (local.set $qp (i32.add (local.get $qp) (i32.const 32)))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $dims)))
        (local.set $a0 (f64x2.add (local.get $a0) (local.get $a1)))
        (f64.store (local.get $out) (f64.add (f64x2.extract_lane 0 (local.get $a0)) (f64x2.extract_lane 1 (local.get $a0)))))))

  ;; out[r] = <q, row r> in float32 (f32x4 lanes, two rows per iteration): about three times the
  ;; speed of scoreRows, and off by a bounded rounding error, so callers use it to skip rows that
  ;; cannot make the top-k and rescore the rest with scoreRows.
  (func (export "scoreRows32") (param $data i32) (param $rows i32) (param $stride i32) (param $q i32) (param $out i32)
    (local $r i32) (local $j i32) (local $p0 i32) (local $p1 i32) (local $rowBytes i32)
    (local $a v128) (local $b v128) (local $qv v128)
    (local.set $rowBytes (i32.shl (local.get $stride) (i32.const 2)))
    (local.set $p0 (local.get $data))
    (block $done
      (loop $pair
        (br_if $done (i32.ge_u (i32.add (local.get $r) (i32.const 1)) (local.get $rows)))
        (local.set $p1 (i32.add (local.get $p0) (local.get $rowBytes)))
        (local.set $a (v128.const i64x2 0 0))
        (local.set $b (v128.const i64x2 0 0))
        (local.set $j (i32.const 0))
        (block $rowdone
          (loop $dims
            (br_if $rowdone (i32.ge_u (local.get $j) (local.get $rowBytes)))
            (local.set $qv (v128.load (i32.add (local.get $q) (local.get $j))))
            (local.set $a (f32x4.add (local.get $a) (f32x4.mul (v128.load (i32.add (local.get $p0) (local.get $j))) (local.get $qv))))
            (local.set $b (f32x4.add (local.get $b) (f32x4.mul (v128.load (i32.add (local.get $p1) (local.get $j))) (local.get $qv))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $dims)))
        (f32.store (local.get $out)
          (f32.add (f32.add (f32x4.extract_lane 0 (local.get $a)) (f32x4.extract_lane 1 (local.get $a)))
                   (f32.add (f32x4.extract_lane 2 (local.get $a)) (f32x4.extract_lane 3 (local.get $a)))))
        (f32.store offset=4 (local.get $out)
          (f32.add (f32.add (f32x4.extract_lane 0 (local.get $b)) (f32x4.extract_lane 1 (local.get $b)))
                   (f32.add (f32x4.extract_lane 2 (local.get $b)) (f32x4.extract_lane 3 (local.get $b)))))
        (local.set $out (i32.add (local.get $out) (i32.const 8)))
        (local.set $p0 (i32.add (local.get $p1) (local.get $rowBytes)))
        (local.set $r (i32.add (local.get $r) (i32.const 2)))
        (br $pair)))
    (if (i32.lt_u (local.get $r) (local.get $rows))
      (then
        (local.set $a (v128.const i64x2 0 0))
        (local.set $j (i32.const 0))
        (block $rowdone
          (loop $dims
            (br_if $rowdone (i32.ge_u (local.get $j) (local.get $rowBytes)))
            (local.set $a (f32x4.add (local.get $a)
              (f32x4.mul (v128.load (i32.add (local.get $p0) (local.get $j))) (v128.load (i32.add (local.get $q) (local.get $j))))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $dims)))
        (f32.store (local.get $out)
          (f32.add (f32.add (f32x4.extract_lane 0 (local.get $a)) (f32x4.extract_lane 1 (local.get $a)))
                   (f32.add (f32x4.extract_lane 2 (local.get $a)) (f32x4.extract_lane 3 (local.get $a))))))))
)
