"""Graph-writing helpers shared by export_diffusers.py and export_vqa.py.

write_graph() puts one wrapped nn.Module into OUT_DIR as model.onnx (TorchScript-based
torch.onnx exporter; weights in model.onnx_data when they pass 2 GB) or model.pt
(torch.jit.trace), then compares it with eager torch on the example inputs. write_json()
writes a config file. Needs torch, and onnx for the ONNX format (onnxruntime optional).
"""
import inspect
import json
import os
import tempfile

import torch

TWO_GB = 2 * 1024 ** 3 - 64 * 1024 ** 2  # protobuf's limit, with headroom


def export_onnx(module, example, path, input_names, output_names, dynamic_axes, opset):
    """torch.onnx.export (TorchScript-based exporter) into a scratch directory, then one
    model.onnx, or model.onnx + model.onnx_data when the weights pass 2 GB."""
    import onnx
    os.makedirs(os.path.dirname(path), exist_ok=True)
    kwargs = {}
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False  # torch >= 2.9 defaults to the dynamo exporter; keep dynamic_axes semantics
    with tempfile.TemporaryDirectory(dir=os.path.dirname(path)) as scratch:
        tmp = os.path.join(scratch, "model.onnx")
        with torch.no_grad():
            torch.onnx.export(module, example, tmp, input_names=input_names, output_names=output_names,
                              dynamic_axes=dynamic_axes, opset_version=opset, do_constant_folding=True,
                              export_params=True, **kwargs)
        size = sum(os.path.getsize(os.path.join(scratch, f)) for f in os.listdir(scratch))
        model = onnx.load(tmp)  # also loads any external data the exporter wrote
        for stale in (path, path + "_data"):
            if os.path.exists(stale):
                os.remove(stale)
        if size > TWO_GB:
            onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True,
                            location=os.path.basename(path) + "_data", size_threshold=1024)
        else:
            onnx.save_model(model, path)
    onnx.checker.check_model(path)  # by path: works with external data
    m = onnx.load(path, load_external_data=False)
    print("  %s: inputs %s -> outputs %s" % (os.path.relpath(path), [i.name for i in m.graph.input],
                                             [o.name for o in m.graph.output]))


def export_torchscript(module, example, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with torch.no_grad():
        traced = torch.jit.trace(module, example, check_trace=False)
    traced.save(path)
    print("  %s: traced" % os.path.relpath(path))


def parity(fmt, path, module, example, names):
    """Compares the written graph with eager torch on the example inputs (ONNX: only if
    onnxruntime is installed)."""
    with torch.no_grad():
        ref = module(*example).float().cpu()
    if fmt == "torchscript":
        with torch.no_grad():
            got = torch.jit.load(path, map_location="cpu")(*[t.cpu() for t in example]).float()
    else:
        try:
            import onnxruntime as ort
        except ImportError:
            print("    (onnxruntime not installed: no ONNX parity check)")
            return
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        got = torch.from_numpy(sess.run(None, {n: t.cpu().numpy() for n, t in zip(names, example)})[0]).float()
    print("    max |exported - eager| = %.3g (eager max |x| = %.3g)" % (
        (got - ref).abs().max().item(), ref.abs().max().item()))


def write_graph(fmt, module, example, out_dir, input_names, output_name, dynamic_axes, opset):
    """Writes OUT_DIR/model.onnx (fmt "onnx") or OUT_DIR/model.pt (any other fmt), then checks parity."""
    module.eval()
    if fmt == "onnx":
        path = os.path.join(out_dir, "model.onnx")
        export_onnx(module, example, path, input_names, [output_name], dynamic_axes, opset)
    else:
        path = os.path.join(out_dir, "model.pt")
        export_torchscript(module, example, path)
    parity(fmt, path, module, example, input_names)


def write_json(path, obj, sort_keys=True):
    """Writes obj as 2-space-indented JSON plus a newline, creating the parent directory.
    sort_keys=False keeps the dict's insertion order."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, sort_keys=sort_keys)
        f.write("\n")
