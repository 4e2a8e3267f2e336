#!/usr/bin/env python3
"""Exports a Hugging Face BLIP VQA model (BlipForQuestionAnswering, e.g. Salesforce/blip-vqa-base)
into inferpipe's vqa layout (layout B, encoder/decoder).

    python tools/export/export_vqa.py Salesforce/blip-vqa-base OUT_DIR --format onnx|torchscript

OUT_DIR receives:

    preprocessor_config.json          BlipProcessor's image processor (save_pretrained)
    tokenizer/tokenizer.json          the fast (Rust) tokenizer (BertTokenizerFast.save_pretrained)
    tokenizer/tokenizer_config.json
    generation_config.json            decoder_start_token_id = text_config.bos_token_id (BLIP's [DEC]),
                                      eos_token_id = text_config.sep_token_id, pad_token_id, max_new_tokens
    encoder/model.{pt|onnx}           pixel_values float32 [B,3,H,W], input_ids int64 [B,L],
                                      attention_mask int64 [B,L] -> encoder_hidden_states [B,L,D]
                                      (vision_model, then text_encoder over the question with
                                      cross-attention to the image embeddings: question_embeds)
    decoder/model.{pt|onnx}           decoder_input_ids int64 [B,T], encoder_hidden_states [B,S,D]
                                      -> logits [B,T,V] (text_decoder, causal, cross-attending to the
                                      question embeddings with an all-ones mask, as BLIP's generate does)

Then run `./pipeline model card OUT_DIR` (writes model.json) and `./pipeline model check OUT_DIR`.

Needs: pip install torch transformers onnx   (onnxruntime optional: parity check)
Not run in the inferpipe repository (no model hub there); testdata/models/make_fixtures.py
builds the same layout with tiny models and was run.
"""
import argparse
import os
import shutil
import sys
import tempfile

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from graphs import write_graph, write_json  # noqa: E402  (tools/export/graphs.py)


class Encoder(nn.Module):
    """BlipForQuestionAnswering.generate's first half: image embeddings, then the question encoded
    by the text encoder with cross-attention to them -> question_embeds [B, L, D]."""

    def __init__(self, model):
        super().__init__()
        self.vision_model = model.vision_model
        self.text_encoder = model.text_encoder

    def forward(self, pixel_values, input_ids, attention_mask):
        image_embeds = self.vision_model(pixel_values=pixel_values, return_dict=False)[0]
        image_attention_mask = torch.ones(image_embeds.shape[:-1], dtype=torch.long, device=image_embeds.device)
        return self.text_encoder(input_ids=input_ids, attention_mask=attention_mask,
                                 encoder_hidden_states=image_embeds,
                                 encoder_attention_mask=image_attention_mask, return_dict=False)[0]


class Decoder(nn.Module):
    """One step of BLIP's answer decoder on the whole prefix: text_decoder(...).logits [B, T, V]."""

    def __init__(self, model):
        super().__init__()
        self.text_decoder = model.text_decoder

    def forward(self, decoder_input_ids, encoder_hidden_states):
        encoder_attention_mask = torch.ones(encoder_hidden_states.shape[:-1], dtype=torch.long,
                                            device=encoder_hidden_states.device)
        # BlipTextLMHeadModel without labels returns (prediction_scores, ...): [0] is the logits.
        return self.text_decoder(input_ids=decoder_input_ids, encoder_hidden_states=encoder_hidden_states,
                                 encoder_attention_mask=encoder_attention_mask, use_cache=False,
                                 return_dict=False)[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", help="BLIP VQA model directory or hub id, e.g. Salesforce/blip-vqa-base")
    ap.add_argument("out", help="output directory (its name becomes the model id)")
    ap.add_argument("--format", choices=["onnx", "torchscript"], required=True)
    ap.add_argument("--opset", type=int, default=14, help="ONNX opset (default 14)")
    ap.add_argument("--max-new-tokens", type=int, default=10)
    ap.add_argument("--revision", default=None)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()

    from PIL import Image
    from transformers import BlipForQuestionAnswering, BlipProcessor

    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    print("loading %s" % args.source)
    # torchscript=True unties shared weights (the LM head and the word embeddings), which
    # TorchScript cannot save as one parameter; the numbers are unchanged.
    model = BlipForQuestionAnswering.from_pretrained(args.source, revision=args.revision,
                                                     torch_dtype=torch.float32,
                                                     torchscript=(args.format == "torchscript"))
    device = torch.device(args.device)
    model.to(device).eval()
    processor = BlipProcessor.from_pretrained(args.source, revision=args.revision)

    # --- configs -------------------------------------------------------------------------
    processor.image_processor.save_pretrained(out)  # preprocessor_config.json
    tok_dir = os.path.join(out, "tokenizer")
    os.makedirs(tok_dir, exist_ok=True)
    tokenizer = processor.tokenizer
    if not getattr(tokenizer, "is_fast", False):
        raise SystemExit("the processor's tokenizer is not a fast tokenizer; install `tokenizers`")
    with tempfile.TemporaryDirectory() as scratch:
        tokenizer.save_pretrained(scratch)
        for name in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copyfile(os.path.join(scratch, name), os.path.join(tok_dir, name))
    tc = model.config.text_config
    start = getattr(model, "decoder_start_token_id", None)
    start = tc.bos_token_id if start is None else start  # BLIP: text_config.bos_token_id ([DEC])
    generation = {"decoder_start_token_id": int(start), "bos_token_id": int(tc.bos_token_id),
                  "eos_token_id": int(tc.sep_token_id), "pad_token_id": int(tc.pad_token_id),
                  "max_new_tokens": args.max_new_tokens}
    write_json(os.path.join(out, "generation_config.json"), generation, sort_keys=False)  # key order as built
    print("  generation: %s" % generation)

    # --- example inputs --------------------------------------------------------------------
    ip = processor.image_processor
    size = ip.size if isinstance(ip.size, dict) else {"height": ip.size, "width": ip.size}
    image = Image.new("RGB", (size["width"], size["height"]), (200, 40, 40))
    enc_in = processor(images=image, text="what colour is the picture?", return_tensors="pt")
    pixel_values = enc_in["pixel_values"].to(device)
    input_ids = enc_in["input_ids"].to(device)
    attention_mask = enc_in["attention_mask"].to(device)
    encoder = Encoder(model).eval()
    decoder = Decoder(model).eval()
    with torch.no_grad():
        question_embeds = encoder(pixel_values, input_ids, attention_mask)
    decoder_input_ids = torch.tensor([[int(start), tokenizer.convert_tokens_to_ids("red")]], dtype=torch.long,
                                     device=device)

    print("exporting (%s)" % args.format)
    write_graph(args.format, encoder, (pixel_values, input_ids, attention_mask), os.path.join(out, "encoder"),
                ["pixel_values", "input_ids", "attention_mask"], "encoder_hidden_states",
                {"pixel_values": {0: "batch"}, "input_ids": {0: "batch", 1: "sequence"},
                 "attention_mask": {0: "batch", 1: "sequence"},
                 "encoder_hidden_states": {0: "batch", 1: "encoder_sequence"}}, args.opset)
    write_graph(args.format, decoder, (decoder_input_ids, question_embeds), os.path.join(out, "decoder"),
                ["decoder_input_ids", "encoder_hidden_states"], "logits",
                {"decoder_input_ids": {0: "batch", 1: "decoder_sequence"},
                 "encoder_hidden_states": {0: "batch", 1: "encoder_sequence"},
                 "logits": {0: "batch", 1: "decoder_sequence"}}, args.opset)

    # greedy answer with the eager wrappers, the way inferpipe decodes (a reference to compare with)
    with torch.no_grad():
        seq = [int(start)]
        for _ in range(args.max_new_tokens):
            logits = decoder(torch.tensor([seq], device=device), question_embeds)[0, -1]
            tok = int(logits.argmax())
            if tok == generation["eos_token_id"]:
                break
            seq.append(tok)
    print("  eager greedy answer for the example: %r" % tokenizer.decode(seq[1:], skip_special_tokens=True))
    print("wrote %s\nnext: ./pipeline model card %s && ./pipeline model check %s" % (out, out, out))


if __name__ == "__main__":
    sys.exit(main())
