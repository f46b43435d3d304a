"""PyTorch counterpart of `sifa bench conv` / `sifa bench bn` (same shapes, same line format).
usage: THREADS=2 python3 bench/torch_ops.py conv|bn [FRAMES] [REPEATS]
"""
import os
import sys
import time
import torch
import torch.nn.functional as F

torch.set_num_threads(int(os.environ.get("THREADS", "2")))
what = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 8
reps = int(sys.argv[3]) if len(sys.argv) > 3 else 5
R50 = [(3, 64, 7, 2, 224, 1),
       (64, 64, 1, 1, 56, 1), (64, 64, 3, 1, 56, 3), (64, 256, 1, 1, 56, 4), (256, 64, 1, 1, 56, 2),
       (256, 128, 1, 1, 56, 1), (128, 128, 3, 2, 56, 1), (128, 512, 1, 1, 28, 4), (256, 512, 1, 2, 56, 1),
       (512, 128, 1, 1, 28, 3), (128, 128, 3, 1, 28, 3),
       (512, 256, 1, 1, 28, 1), (256, 256, 3, 2, 28, 1), (256, 1024, 1, 1, 14, 6), (512, 1024, 1, 2, 28, 1),
       (1024, 256, 1, 1, 14, 5), (256, 256, 3, 1, 14, 5),
       (1024, 512, 1, 1, 14, 1), (512, 512, 3, 2, 14, 1), (512, 2048, 1, 1, 7, 3), (1024, 2048, 1, 2, 14, 1),
       (2048, 512, 1, 1, 7, 2), (512, 512, 3, 1, 7, 2)]


def med(fn):
    fn()
    t = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    t.sort()
    return t[len(t) // 2]


if what == "conv":
    tf = tb = tdx = tdw = 0.0
    for cin, cout, k, s, hw, cnt in R50:
        x = torch.randn(n, cin, hw, hw, requires_grad=cin != 3)
        w = torch.randn(cout, cin, k, k, requires_grad=True)
        y = F.conv2d(x, w, None, s, k // 2)
        dy = torch.randn_like(y)
        with torch.no_grad():
            f = med(lambda: F.conv2d(x, w, None, s, k // 2))

        # The backward kernel itself (what autograd calls), both gradients and each alone, as `sifa bench conv` times it.
        def bwd(dx, dw):
            return lambda: torch.ops.aten.convolution_backward(dy, x, w, None, [s, s], [k // 2, k // 2], [1, 1], False,
                                                               [0, 0], 1, [dx, dw, False])
        with torch.no_grad():
            b = med(bwd(cin != 3, True))
            dxt = med(bwd(True, False)) if cin != 3 else 0.0
            dwt = med(bwd(False, True))
        tf += f * cnt
        tb += b * cnt
        tdx += dxt * cnt
        tdw += dwt * cnt
        fl = 2.0 * n * cout * cin * k * k * y.shape[2] * y.shape[3]
        print(f"conv cin={cin} cout={cout} k={k} s={s} hw={hw} x{cnt} fwd_ms={f*1e3:.2f} bwd_ms={b*1e3:.2f} "
              f"fwd_gflops={fl/f/1e9:.1f} bwd_gflops={fl*(2 if cin != 3 else 1)/b/1e9:.1f} dx_ms={dxt*1e3:.2f} dw_ms={dwt*1e3:.2f}")
    print(f"conv_total fwd_s={tf:.3f} bwd_s={tb:.3f} dx_s={tdx:.3f} dw_s={tdw:.3f}")
else:
    for c, hw in [(64, 112), (64, 56), (256, 56), (128, 28), (512, 28), (256, 14), (1024, 14), (512, 7), (2048, 7)]:
        x = torch.randn(n, c, hw, hw, requires_grad=True)
        wt = torch.ones(c, requires_grad=True)
        bs = torch.zeros(c, requires_grad=True)
        rm, rv = torch.zeros(c), torch.ones(c)
        dy = torch.randn_like(x)
        with torch.no_grad():
            f = med(lambda: F.batch_norm(x, rm, rv, wt, bs, True))
            r = med(lambda: F.relu(x))

        def bwd():
            torch.autograd.grad(F.batch_norm(x, rm, rv, wt, bs, True), [x, wt, bs], dy)
        b = med(bwd) - f
        print(f"bn c={c} hw={hw} fwd_ms={f*1e3:.2f} bwd_ms={b*1e3:.2f} relu_ms={r*1e3:.2f}")
