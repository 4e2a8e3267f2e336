"""BERT WordPiece tokenizer, as in all-MiniLM-L6-v2's tokenizer.json (offline, no `tokenizers`).

testdata/models/make_fixtures.py imports it too (for the fx-minilm reference), so the fixtures and
the training commands tokenize alike. models/inferpipe_models/minilm.py checks it against
testdata/models/reference/minilm.json (input ids must be identical).
"""
import unicodedata


def _is_whitespace(ch):
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs" or ch.isspace()


def _is_control(ch):
    if ch in "\t\n\r":
        return False
    return unicodedata.category(ch).startswith("C")


def _is_punct(ch):
    cp = ord(ch)
    if (33 <= cp <= 47) or (58 <= cp <= 64) or (91 <= cp <= 96) or (123 <= cp <= 126):
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp):
    return ((0x4E00 <= cp <= 0x9FFF) or (0x3400 <= cp <= 0x4DBF) or (0x20000 <= cp <= 0x2A6DF)
            or (0x2A700 <= cp <= 0x2B73F) or (0x2B740 <= cp <= 0x2B81F) or (0x2B820 <= cp <= 0x2CEAF)
            or (0xF900 <= cp <= 0xFAFF) or (0x2F800 <= cp <= 0x2FA1F))


class BertTokenizer:
    """tokenizers' BertNormalizer + BertPreTokenizer + WordPiece + TemplateProcessing, as in tokenizer.json."""

    def __init__(self, tj):
        self.tj = tj
        norm = tj["normalizer"]
        assert norm["type"] == "BertNormalizer" and tj["pre_tokenizer"]["type"] == "BertPreTokenizer"
        assert tj["model"]["type"] == "WordPiece"
        self.clean = norm.get("clean_text", True)
        self.chinese = norm.get("handle_chinese_chars", True)
        self.lower = norm.get("lowercase", True)
        sa = norm.get("strip_accents")
        self.strip = self.lower if sa is None else sa
        self.vocab = tj["model"]["vocab"]
        self.unk = tj["model"]["unk_token"]
        self.prefix = tj["model"].get("continuing_subword_prefix", "##")
        self.max_chars = tj["model"].get("max_input_chars_per_word", 100)
        single = tj["post_processor"]["single"]
        self.cls = single[0]["SpecialToken"]["id"]
        self.sep = single[-1]["SpecialToken"]["id"]

    def normalize(self, text):
        out = []
        for ch in text:
            if self.clean:
                if ord(ch) == 0 or ord(ch) == 0xFFFD or _is_control(ch):
                    continue
                if _is_whitespace(ch):
                    ch = " "
            if self.chinese and _is_cjk(ord(ch)):
                out.append(" " + ch + " ")
            else:
                out.append(ch)
        text = "".join(out)
        if self.strip:
            text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
        if self.lower:
            text = text.lower()
        return text

    def pre_tokenize(self, text):
        words, cur = [], []
        for ch in text:
            if _is_whitespace(ch):
                if cur:
                    words.append("".join(cur)); cur = []
            elif _is_punct(ch):
                if cur:
                    words.append("".join(cur)); cur = []
                words.append(ch)
            else:
                cur.append(ch)
        if cur:
            words.append("".join(cur))
        return words

    def wordpiece(self, word):
        if len(word) > self.max_chars:
            return [self.unk]
        pieces, start = [], 0
        while start < len(word):
            end, cur = len(word), None
            while start < end:
                sub = word[start:end]
                if start > 0:
                    sub = self.prefix + sub
                if sub in self.vocab:
                    cur = sub
                    break
                end -= 1
            if cur is None:
                return [self.unk]
            pieces.append(cur)
            start = end
        return pieces

    def encode(self, text, max_len):
        toks = [p for w in self.pre_tokenize(self.normalize(text)) for p in self.wordpiece(w)]
        toks = toks[: max_len - 2]
        tokens = [self.cls] + toks + [self.sep]
        ids = [self.vocab[t] for t in tokens]
        pad_id = self.vocab["[PAD]"]
        n = len(ids)
        return {"tokens": tokens, "input_ids": ids + [pad_id] * (max_len - n),
                "attention_mask": [1] * n + [0] * (max_len - n), "token_type_ids": [0] * max_len}


