"""The shapes world both exported models live in, and the language used to talk about it.

Everything here is a spec the Java evaluation mirrors (its renderer draws the same world with
Java2D). `python3 -m inferpipe_models.world --json models/world.json` writes it as JSON.

Geometry
  colours  red (220,40,40), green (40,190,60), blue (50,80,230), yellow (235,215,40)
  shapes   circle, square, triangle (apex up, isosceles, filling its box: (x+s/2, y), (x+s, y+s), (x, y+s))
  an object is a box of side s = extent * image side; its centre is the box centre
  txt2img background (20,20,24)
  positions  left/right/top/bottom: the centre lies in that half of the image;
             centre: the centre lies in the middle third, both ways
  sizes      small: extent 0.20-0.35, large: 0.50-0.70, unsized: 0.30-0.55

Language: every word list and template below is split into TRAIN (what training text is made of)
and HELD_OUT (what evaluation alone uses). `check_split()` asserts that no held-out word or
phrasing occurs in any training text; the training commands call it.
"""
import argparse
import itertools
import json
import re

COLOURS = ["red", "green", "blue", "yellow"]
RGB = {"red": (220, 40, 40), "green": (40, 190, 60), "blue": (50, 80, 230), "yellow": (235, 215, 40)}
SHAPES = ["circle", "square", "triangle"]
BACKGROUND = (20, 20, 24)
POSITIONS = ["left", "right", "top", "bottom", "centre"]
SIZES = ["small", "large"]
EXTENT = {"small": (0.20, 0.35), "large": (0.50, 0.70), None: (0.30, 0.55)}


def judge_class(colour, shape):
    return COLOURS.index(colour) * 3 + SHAPES.index(shape)


def class_names():
    return ["%s %s" % (c, s) for c in COLOURS for s in SHAPES]


def in_position(cx, cy, w, h, pos):
    """Does a centre (cx, cy) in a w x h image satisfy the position word? (pixel units, y down)"""
    if pos is None:
        return True
    if pos == "left":
        return cx < w / 2
    if pos == "right":
        return cx > w / 2
    if pos == "top":
        return cy < h / 2
    if pos == "bottom":
        return cy > h / 2
    if pos == "centre":
        return w / 3 <= cx <= 2 * w / 3 and h / 3 <= cy <= 2 * h / 3
    raise ValueError(pos)


# ----------------------------------------------------------------------------------------------
# txt2img language
# ----------------------------------------------------------------------------------------------

COLOUR_WORDS = {
    # many train synonyms, several without the base word, so the UNet must read what MiniLM's states
    # mean rather than memorise four tokens (3 per colour generalised to held-out words at 0.18)
    "train": {"red": ["red", "ruby", "cherry", "rose", "tomato", "blood red", "brick red", "reddish"],
              "green": ["green", "jade", "grassy green", "olive", "mint", "leaf green", "forest green", "greenish"],
              "blue": ["blue", "sapphire", "cobalt", "sky blue", "ocean blue", "indigo", "royal blue", "bluish"],
              "yellow": ["yellow", "canary", "sunflower", "banana", "mustard", "butter yellow", "sunny yellow",
                         "yellowish"]},
    "held_out": {"red": ["scarlet", "crimson"], "green": ["emerald", "lime"],
                 "blue": ["azure", "navy"], "yellow": ["golden", "lemon"]},
}
SHAPE_WORDS = {
    "train": {"circle": ["circle", "dot", "orb", "circular shape", "sphere", "bubble", "coin"],
              "square": ["square", "tile", "cube", "square shape", "slab", "panel"],
              "triangle": ["triangle", "triangular shape", "cone", "arrowhead", "spike", "delta"]},
    "held_out": {"circle": ["ball", "disc", "round shape"], "square": ["box", "block"],
                 "triangle": ["wedge", "pyramid"]},
}
# More train-language shape names, for models/attribute_head.py's shape read-out only (the bundled
# UNet was trained before them; none is held out, check_split asserts it). Fitted on SHAPE_WORDS
# alone, the read-out placed wedge and box as no shape at all.
HEAD_SHAPE_WORDS = {
    "circle": ["ring", "wheel", "globe", "pearl", "marble", "button", "hoop", "moon", "plate", "medallion", "oval"],
    # not "brick": "brick red" is a train colour
    "square": ["rectangle", "crate", "dice", "quadrilateral", "tablet", "card", "plaque", "window pane", "frame"],
    "triangle": ["prism", "arrow", "tent", "slice", "pennant", "ramp", "shark fin", "sail", "spearhead", "chevron"],
}


def head_shape_words():
    """The attribute head's shape vocabulary: the train language's and HEAD_SHAPE_WORDS."""
    return {s: SHAPE_WORDS["train"][s] + HEAD_SHAPE_WORDS[s] for s in SHAPES}


# a colour without a shape: "a red object"
THING_WORDS = {"train": ["object", "shape", "thing"], "held_out": ["item"]}
SIZE_WORDS = {
    "train": {"small": ["small", "little"], "large": ["large", "big"]},
    "held_out": {"small": ["tiny", "miniature"], "large": ["huge", "giant"]},
}
POSITION_PHRASES = {
    "train": {"left": ["on the left", "to the left", "at the left"],
              "right": ["on the right", "to the right", "at the right"],
              "top": ["at the top", "near the top", "up top"],
              "bottom": ["at the bottom", "near the bottom", "down at the bottom"],
              "centre": ["in the centre", "in the center", "in the middle"]},
    "held_out": {"left": ["on the left-hand side", "in the left half"],
                 "right": ["on the right-hand side", "in the right half"],
                 "top": ["in the upper half", "towards the top"],
                 "bottom": ["in the lower half", "towards the bottom"],
                 "centre": ["right in the middle", "centred"]},
}
# {o} = an object phrase ("a small red circle on the left"); {o2} the second one
PROMPT_TEMPLATES = {
    "train": {1: ["{o}", "{o}.", "a picture of {o}", "an image of {o}", "a drawing of {o}", "there is {o}",
                  "draw {o}", "{o} on a dark background", "a photo of {o}", "simple render of {o}"],
              2: ["{o} and {o2}", "{o}, {o2}", "{o} next to {o2}", "{o} with {o2}", "a picture of {o} and {o2}",
                  "an image of {o} and {o2}", "draw {o} and {o2}", "there is {o} and {o2}"]},
    "held_out": {1: ["show me {o}", "please render {o}", "generate an image containing {o}",
                     "i would like to see {o}", "a scene with {o}", "can you paint {o}"],
                 2: ["{o} beside {o2}", "{o} as well as {o2}", "both {o} and {o2}", "show me {o} plus {o2}",
                     "a scene with {o} alongside {o2}"]},
}
# a shape that is a colour: the phrasing the brief names ("a square that is blue") is held out whole
HELD_OUT_OBJECT_FORMS = ["a {shape} that is {colour}", "a {colour} coloured {shape}", "one {colour} {shape}"]


def article(word):
    return "an" if word[0] in "aeiou" else "a"


def object_phrase(rng, obj, split, form=None, shape_words=None):
    """obj: dict colour, shape (either may be None), size, pos. rng: random.Random. shape_words
    replaces the split's shape names (head_shape_words())."""
    c = rng.choice(COLOUR_WORDS[split][obj["colour"]]) if obj.get("colour") else None
    shapes = shape_words or SHAPE_WORDS[split]
    s = rng.choice(shapes[obj["shape"]]) if obj.get("shape") else rng.choice(THING_WORDS[split])
    z = rng.choice(SIZE_WORDS[split][obj["size"]]) if obj.get("size") else None
    p = rng.choice(POSITION_PHRASES[split][obj["pos"]]) if obj.get("pos") else None
    if form is not None and c is not None and obj.get("shape"):
        core = form.format(shape=s, colour=c)
        if z:
            core = core.replace(" %s" % s, " %s %s" % (z, s), 1)
    else:
        words = [w for w in (z, c, s) if w]
        core = article(words[0]) + " " + " ".join(words)
    return core + (" " + p if p else "")


def prompt_text(rng, objs, split, with_phrases=False, shape_words=None):
    """A prompt for 1-2 objects, in the train or held-out language (and each object's phrase in it,
    with_phrases: the same random draws either way)."""
    form = None
    if split == "held_out" and rng.random() < 0.35:
        form = rng.choice(HELD_OUT_OBJECT_FORMS)
    phrases = [object_phrase(rng, o, split, form, shape_words) for o in objs]
    t = rng.choice(PROMPT_TEMPLATES[split][len(objs)])
    text = t.format(o=phrases[0], o2=phrases[1] if len(phrases) > 1 else "")
    return (text, phrases) if with_phrases else text


def sample_objects(rng, n, p_size=0.3, p_pos=0.4, p_colour_only=0.07, p_shape_only=0.08):
    """1-2 object specs. Two objects never share (colour, shape); their positions are compatible
    (not the same word, not opposite-axis conflicts that make overlap likely, e.g. both 'centre')."""
    objs = []
    while len(objs) < n:
        r = rng.random()
        if n > 1:
            r = max(r, p_shape_only)  # two-object prompts always name both colours
        colour = rng.choice(COLOURS) if r >= p_shape_only else None
        shape = rng.choice(SHAPES) if (r < p_shape_only or r >= p_shape_only + p_colour_only) else None
        o = {"colour": colour, "shape": shape,
             "size": rng.choice(SIZES) if rng.random() < p_size else None,
             "pos": rng.choice(POSITIONS) if rng.random() < p_pos else None}
        if objs:
            a = objs[0]
            bad = (a["colour"] is None or o["colour"] is None or a["colour"] == o["colour"]  # two colours named
                   or (a["size"] == "large" and o["size"] == "large")
                   or (a["pos"] and o["pos"] and (a["pos"] == o["pos"] or "centre" in (a["pos"], o["pos"])))
                   # a large object next to a centred one does not fit without overlap
                   or ("centre" in (a["pos"], o["pos"]) and "large" in (a["size"], o["size"])))
            if bad:
                objs = []  # start again: a conflict with the first object must not loop forever
                continue
        objs.append(o)
    return objs


# ----------------------------------------------------------------------------------------------
# VQA language. Answers are single BERT-vocabulary words.
# kinds: colour, shape, exists, count, count_shape, count_colour, horizontal, vertical
# ----------------------------------------------------------------------------------------------

ANSWERS = COLOURS + SHAPES + ["yes", "no", "one", "two", "three", "left", "right", "top", "bottom"]
COUNT_WORDS = {1: "one", 2: "two", 3: "three"}
PLURAL = {"circle": "circles", "square": "squares", "triangle": "triangles"}

QUESTION_TEMPLATES = {
    "train": {
        "colour": ["what colour is the {shape}?", "what color is the {shape}?", "which colour is the {shape}?",
                   "the {shape} is what colour?", "what is the colour of the {shape}?",
                   "tell me the colour of the {shape}."],
        "shape": ["what shape is the {colour} object?", "what shape is the {colour} thing?",
                  "which shape is {colour}?", "what is the {colour} shape?", "the {colour} object is what shape?",
                  "what kind of shape is the {colour} one?"],
        "exists": ["is there a {colour} {shape}?", "is there a {colour} {shape} in the image?",
                   "does the image contain a {colour} {shape}?", "can you see a {colour} {shape}?",
                   "is a {colour} {shape} present?"],
        "count": ["how many objects are there?", "how many shapes are there?", "how many shapes are in the image?",
                  "count the objects.", "what is the number of shapes?"],
        "count_shape": ["how many {shapes} are there?", "how many {shapes} are in the image?",
                        "count the {shapes}.", "what is the number of {shapes}?"],
        "count_colour": ["how many {colour} objects are there?", "how many {colour} shapes are there?",
                         "count the {colour} shapes.", "what is the number of {colour} objects?"],
        "horizontal": ["is the {colour} {shape} on the left or the right?",
                       "is the {colour} {shape} on the left or right?",
                       "which side is the {colour} {shape} on, left or right?",
                       "left or right: where is the {colour} {shape}?"],
        "vertical": ["is the {colour} {shape} at the top or the bottom?",
                     "is the {colour} {shape} at the top or bottom?",
                     "is the {colour} {shape} near the top or the bottom?",
                     "top or bottom: where is the {colour} {shape}?"],
    },
    "held_out": {
        "colour": ["which color does the {shape} have?", "what hue is the {shape}?",
                   "can you name the colour of the {shape}?", "the {shape} has which color?",
                   "what's the {shape}'s colour?", "identify the color of the {shape}."],
        "shape": ["what form does the {colour} object have?", "name the shape that is {colour}.",
                  "which figure is {colour}?", "what's the {colour} item's shape?",
                  "tell me what shape the {colour} one is."],
        "exists": ["do you see any {colour} {shape}?", "is a {colour} {shape} visible here?",
                   "does this picture show a {colour} {shape}?", "are there any {colour} {shapes}?",
                   "could there be a {colour} {shape} in this scene?"],
        "count": ["how many items can you see?", "what number of figures is shown?",
                  "tell me how many shapes appear.", "how many things are in this picture?"],
        "count_shape": ["how many {shapes} can you see?", "what number of {shapes} is shown?",
                        "tell me how many {shapes} appear."],
        "count_colour": ["how many {colour} items can you see?", "what number of {colour} figures is shown?",
                         "tell me how many {colour} things appear."],
        "horizontal": ["is the {colour} {shape} placed left or right?",
                       "does the {colour} {shape} sit on the left side or the right side?",
                       "on which side, left or right, is the {colour} {shape}?"],
        "vertical": ["is the {colour} {shape} placed high or low, top or bottom?",
                     "does the {colour} {shape} sit in the top half or the bottom half?",
                     "in which half, top or bottom, is the {colour} {shape}?"],
    },
}


def fill_question(template, colour=None, shape=None):
    return template.format(colour=colour or "", shape=shape or "", shapes=PLURAL.get(shape, ""))


# ----------------------------------------------------------------------------------------------
# the split check
# ----------------------------------------------------------------------------------------------

def _words(text):
    return set(re.findall(r"[a-z']+", text.lower()))


def held_out_words():
    """Single words that occur only in the held-out language (must never appear in training text)."""
    ho = set()
    for table in (COLOUR_WORDS, SHAPE_WORDS, SIZE_WORDS):
        for v in table["held_out"].values():
            for p in v:
                ho |= _words(p)
    ho |= set(THING_WORDS["held_out"])
    train = set()
    for table in (COLOUR_WORDS, SHAPE_WORDS, SIZE_WORDS, POSITION_PHRASES):
        for v in table["train"].values():
            for p in v:
                train |= _words(p)
    for v in PROMPT_TEMPLATES["train"].values():
        for p in v:
            train |= _words(p)
    for v in QUESTION_TEMPLATES["train"].values():
        for p in v:
            train |= _words(p)
    return ho - train - {"a", "the", "is", "that", "shape", "one"}


def held_out_phrasings():
    out = []
    for v in PROMPT_TEMPLATES["held_out"].values():
        out += v
    out += HELD_OUT_OBJECT_FORMS
    for v in POSITION_PHRASES["held_out"].values():
        out += v
    for v in QUESTION_TEMPLATES["held_out"].values():
        out += v
    return out


def n_held_out_questions():
    return sum(len(v) for v in QUESTION_TEMPLATES["held_out"].values())


def check_split(train_texts=()):
    """Asserts the split: the held-out words (scarlet, ball, ...) never occur in a training text and
    no held-out phrasing (template with its slots as wildcards) matches one. Returns the counts."""
    ho_words = held_out_words()
    must = {"scarlet", "crimson", "azure", "navy", "emerald", "lime", "golden", "lemon", "ball", "disc",
            "round", "box", "block", "wedge", "pyramid"}
    assert must <= ho_words, must - ho_words
    head = {w for v in HEAD_SHAPE_WORDS.values() for p in v for w in _words(p)}
    assert not head & ho_words, head & ho_words
    assert not head & {w for v in COLOUR_WORDS["train"].values() for p in v for w in _words(p)}  # one meaning a word
    pats = []
    for p in held_out_phrasings():
        rx = re.escape(p.lower())
        rx = re.sub(r"\\\{[a-z0-9]+\\\}", ".*", rx)
        pats.append((p, re.compile("^" + rx + "$") if "{" in p else re.compile(re.escape(p.lower()))))
    # the training templates themselves
    texts = list(train_texts)
    for v in PROMPT_TEMPLATES["train"].values():
        texts += v
    for v in QUESTION_TEMPLATES["train"].values():
        texts += v
    n = 0
    for t in texts:
        tl = t.lower()
        bad = _words(tl) & ho_words
        assert not bad, (t, bad)
        for p, rx in pats:
            if "{" in p:
                assert not rx.match(tl), (t, p)
            else:
                assert not rx.search(tl), (t, p)
        n += 1
    assert n_held_out_questions() >= 30
    # train and held-out question templates never coincide
    tq = {t for v in QUESTION_TEMPLATES["train"].values() for t in v}
    hq = {t for v in QUESTION_TEMPLATES["held_out"].values() for t in v}
    assert not tq & hq
    return {"texts_checked": n, "held_out_words": len(ho_words), "held_out_question_phrasings": n_held_out_questions()}


def _train_words(tables, templates):
    words = set()
    for table in tables:
        values = table["train"].values() if isinstance(table["train"], dict) else [table["train"]]
        for v in values:
            for p in v:
                words |= _words(p)
    for t in templates:
        words |= _words(re.sub(r"\{[a-z0-9]+\}", " ", t))
    return words


def understands(task):
    """What a model trained on the train language can act on: the card's `understands` (written
    to understands.json by the training commands). `words` is every word of the training text;
    the serving side counts a prompt's other words as unknown."""
    if task == "txt2img":
        words = _train_words((COLOUR_WORDS, SHAPE_WORDS, THING_WORDS, SIZE_WORDS, POSITION_PHRASES),
                             [t for v in PROMPT_TEMPLATES["train"].values() for t in v]) | {"a", "an"}
        return {"colours": COLOURS, "shapes": SHAPES, "positions": POSITIONS, "sizes": SIZES,
                "objects": ["1", "2"], "words": sorted(words)}
    if task == "vqa":
        words = _train_words((), [t for v in QUESTION_TEMPLATES["train"].values() for t in v])
        words |= set(COLOURS) | set(SHAPES) | set(PLURAL.values())
        return {"answers": ANSWERS, "questions": sorted(QUESTION_TEMPLATES["train"]), "words": sorted(words)}
    raise ValueError(task)


def spec_json():
    return {
        "colours": {c: list(RGB[c]) for c in COLOURS}, "shapes": SHAPES, "background_txt2img": list(BACKGROUND),
        "positions": POSITIONS, "sizes": {"small": list(EXTENT["small"]), "large": list(EXTENT["large"]),
                                          "unsized": list(EXTENT[None])},
        "position_rule": "left/right/top/bottom: object centre in that half; centre: centre in the middle third both ways",
        "triangle": "apex up, isosceles, fills its box: (x+s/2, y), (x+s, y+s), (x, y+s)",
        "judge_classes": class_names(),
        "colour_words": COLOUR_WORDS, "shape_words": SHAPE_WORDS, "head_shape_words": HEAD_SHAPE_WORDS,
        "thing_words": THING_WORDS,
        "size_words": SIZE_WORDS, "position_phrases": POSITION_PHRASES, "prompt_templates": PROMPT_TEMPLATES,
        "held_out_object_forms": HELD_OUT_OBJECT_FORMS,
        "vqa_answers": ANSWERS, "question_templates": QUESTION_TEMPLATES,
        "held_out_words": sorted(held_out_words()),
    }


if __name__ == "__main__":
    import random
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", help="write the spec as JSON here")
    a = ap.parse_args()
    print(check_split())
    rng = random.Random(0)
    for split in ("train", "held_out"):
        for _ in range(6):
            print(split, "|", prompt_text(rng, sample_objects(rng, rng.choice([1, 2])), split))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(spec_json(), f, indent=2)
            f.write("\n")
