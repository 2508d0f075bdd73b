"""Writes torch_views.pt, a small real `torch.save` file for tests/checkpoint_read_test.ts.

Made with Debian's python3-torch 1.13.1 (`/usr/bin/python3 tests/testdata/make_torch_views.py`).
Every value is a simple formula that the test recomputes independently. It covers views
(offsets, transposes, steps, expand with stride 0), storages shared between tensors, every
legacy storage dtype, a scalar, an empty tensor, an nn.Parameter and an OrderedDict with
`_metadata` (pickled with BUILD), as `Module.state_dict()` produces.
"""
import collections
import os

import torch

base = torch.arange(24, dtype=torch.float32).reshape(4, 6)  # base[i, j] = 6 i + j
sd = collections.OrderedDict()
sd["f32_base"] = base
sd["f32_t"] = base.t()  # (6, 4), stride (1, 6)
sd["f32_slice"] = base[1:3, 2:5]  # offset 8, stride (6, 1)
sd["f32_row"] = base[2]  # offset 12
sd["f32_step"] = base[:, ::2]  # stride (6, 2)
sd["f32_expand"] = torch.arange(3, dtype=torch.float32).expand(2, 3)  # stride (0, 1)
sd["f32_3d_permuted"] = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4).permute(2, 0, 1)
sd["f16"] = torch.arange(5, dtype=torch.float16) * 0.5
sd["bf16"] = torch.arange(5, dtype=torch.bfloat16) * 0.25
sd["f64"] = torch.arange(4, dtype=torch.float64) / 3
sd["i64"] = torch.tensor([-3, 2**40, 7], dtype=torch.int64)
sd["i32"] = torch.tensor([-1, 2, 2**31 - 1], dtype=torch.int32)
sd["i16"] = torch.tensor([-300, 300], dtype=torch.int16)
sd["i8"] = torch.tensor([-128, 127], dtype=torch.int8)
sd["u8"] = torch.tensor([0, 255], dtype=torch.uint8)
sd["bool"] = torch.tensor([True, False, True])
sd["scalar"] = torch.tensor(3.5)
sd["empty"] = torch.zeros(0, 3)
sd["param"] = torch.nn.Parameter(torch.arange(4, dtype=torch.float32))
sd._metadata = collections.OrderedDict({"": {"version": 1}})
torch.save(sd, os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_views.pt"))
