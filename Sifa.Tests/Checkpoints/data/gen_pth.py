#!/usr/bin/env python3
"""Generates the small .pth test files next to this script (needs PyTorch: Debian's python3-torch).

values_{zip,legacy}.pth: every storage dtype, non-contiguous views (transpose, slice with offset, step,
permute, expand), shared storages, a Parameter, 0-d and empty tensors, plus non-tensor entries, with the
state dict under 'state_dict'. seq_{zip,legacy}.pth: a top-level nn.Sequential state dict.
NAME.expected.safetensors holds every tensor converted to float32 (contiguous), metadata 'dtypes' the stored dtypes.
Run: /usr/bin/python3 gen_pth.py
"""
import collections, json, os, struct
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
DT = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64", torch.int64: "I64",
      torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL"}


def write_safetensors(path, tensors, metadata):
    header, blobs, off = {"__metadata__": metadata}, [], 0
    for k, t in tensors.items():
        b = t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
        header[k] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def save_both(stem, obj, tensors, container):
    torch.save(obj, os.path.join(HERE, stem + "_zip.pth"))
    torch.save(obj, os.path.join(HERE, stem + "_legacy.pth"), _use_new_zipfile_serialization=False)
    write_safetensors(os.path.join(HERE, stem + ".expected.safetensors"), tensors,
                      {"container": container, "dtypes": json.dumps({k: DT[t.dtype] for k, t in tensors.items()}),
                       "keys": json.dumps(list(tensors.keys()))})


def main():
    torch.manual_seed(1234)
    f32 = torch.randn(3, 4)
    big = torch.randn(5, 6)
    ar = torch.arange(20, dtype=torch.float32)
    sd = collections.OrderedDict()
    sd["f32"] = f32
    sd["f32_t"] = f32.t()                          # shares f32's storage, strides (1, 4)
    sd["f32_slice"] = big[1:4, 2:5]                # offset 8, strides (6, 1)
    sd["f32_step"] = ar[2::3]                      # offset 2, stride 3
    sd["f32_permute"] = torch.randn(2, 3, 4).permute(2, 0, 1)
    sd["f32_expand"] = torch.randn(3, 1).expand(3, 4)  # stride 0
    sd["scalar"] = torch.tensor(2.5)
    sd["empty"] = torch.zeros(0, 3)
    sd["f16"] = torch.randn(2, 3).half()
    sd["bf16"] = torch.randn(2, 3).bfloat16()
    sd["f64"] = torch.randn(2, 2, dtype=torch.float64)
    sd["i64"] = torch.tensor([-5, 0, 7, 123456, -(2 ** 20)], dtype=torch.int64)
    sd["i64_t"] = torch.arange(12, dtype=torch.int64).reshape(3, 4).t()
    sd["i32"] = torch.tensor([[-2, 3], [40000, -70000]], dtype=torch.int32)
    sd["i16"] = torch.tensor([-300, 300], dtype=torch.int16)
    sd["i8"] = torch.tensor([-128, 5, 127], dtype=torch.int8)
    sd["u8"] = torch.tensor([0, 200, 255], dtype=torch.uint8)
    sd["bool"] = torch.tensor([True, False, True])
    sd["param"] = torch.nn.Parameter(torch.randn(2, 2))
    obj = {"state_dict": sd, "epoch": 3, "lr": 0.125, "name": "r\u00e9sum\u00e9", "flags": [True, False, None],
           "shape": (1, 2), "big": 2 ** 40, "neg": -7, "huge": 2 ** 70, "raw": b"\x00\x01\xff",
           "by_id": {0: "a", 1: [1, 2]}, "shared": [sd["f32"], sd["f32"]]}
    save_both("values", obj, {k: v for k, v in sd.items()}, "state_dict")

    torch.manual_seed(7)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    net[1].running_mean.normal_()
    net[1].running_var.uniform_(0.5, 2.0)
    net[1].num_batches_tracked.fill_(17)
    st = net.state_dict()
    save_both("seq", st, dict(st), "None")


if __name__ == "__main__":
    main()
