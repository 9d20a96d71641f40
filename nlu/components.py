"""The NLU as a spaCy pipeline (blank Chinese, one token per character): one component per task,
each saving and loading its own files, so the whole model is one directory that `spacy.load` reads.

Components write their results to `Doc._` extensions; places also become `doc.ents`
(DISTRICT / STREET / COMMUNITY), so spaCy's own tools (displaCy, Span) work on them.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

from . import numbers
from .acts import dialogue_act
from .encoder import UniversalSentenceEncoder
from .faq import FaqIndex
from .gazetteer import Gazetteer
from .linear import LinearTextModel
from .request_type import RequestTypeReader
from .types import Category, DialogueAct, RequestType, Urgency
from .urgency import urgency

DATA_DIR = Path(__file__).parent / "data"
ENTITY_LABELS = {"district": "DISTRICT", "street": "STREET", "community": "COMMUNITY"}

for _name in (
    "clean_text",
    "char_ngrams",
    "act",
    "ticket_numbers",
    "phone_numbers",
    "category",
    "request_type",
    "places",
    "urgency",
    "faq",
    "lane",
):
    if not Doc.has_extension(_name):
        Doc.set_extension(_name, default=None)


def ngrams_of(doc: Doc, model: LinearTextModel) -> Counter[str]:
    """Character n-gram counts, counted once per message and shared by the models that read them."""
    cached: tuple[tuple[int, int, int], Counter[str]] | None = doc._.char_ngrams
    if cached is not None and cached[0] == model.view:
        return cached[1]
    grams = model.ngrams(text_of(doc))
    doc._.char_ngrams = (model.view, grams)
    return grams


def text_of(doc: Doc) -> str:
    """The message text; `Doc.text` rebuilds it from the tokens on every access, so it is kept once."""
    text: str | None = doc._.clean_text
    if text is None:
        text = doc.text
        doc._.clean_text = text
    return text


class _Component:
    """Base: `to_disk`/`from_disk` copy named files between the model directory and the component."""

    files: tuple[str, ...] = ()

    def __init__(self, source: Path | None = None) -> None:
        self._source = source

    def to_disk(self, path: Path, *, exclude: Iterable[str] = ()) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        if self._source is not None and self._source.resolve() != path.resolve():
            for name in self.files:
                if (self._source / name).exists():
                    shutil.copy(self._source / name, path / name)

    def from_disk(self, path: Path, *, exclude: Iterable[str] = ()) -> _Component:
        self._source = Path(path)
        self.load(Path(path))
        return self

    def load(self, path: Path) -> None:
        raise NotImplementedError


class ActsComponent(_Component):
    def load(self, path: Path) -> None:
        pass

    def __call__(self, doc: Doc) -> Doc:
        tickets = numbers.ticket_numbers(text_of(doc))
        doc._.ticket_numbers = tickets
        doc._.phone_numbers = numbers.phone_numbers(text_of(doc))
        doc._.act = dialogue_act(text_of(doc), has_ticket_number=bool(tickets))
        return doc


class CategoryComponent(_Component):
    files = ("model.json", "weights.npz", "taxonomy.csv")

    def __init__(self, source: Path | None = None, *, unsure_below: float = 0.6) -> None:
        super().__init__(source)
        self.unsure_below = unsure_below
        self.model: LinearTextModel | None = None
        self.labels: tuple[str, ...] = ()
        if source is not None:
            self.load(source)

    def load(self, path: Path) -> None:
        self.model = LinearTextModel.load(path)
        taxonomy = _read_taxonomy(path / "taxonomy.csv") if (path / "taxonomy.csv").exists() else ()
        self.labels = tuple(label for label in taxonomy if label in self.model.classes) or tuple(
            self.model.classes
        )

    def classify(self, text: str, grams: Counter[str] | None = None) -> Category | None:
        if self.model is None or len(text) < 2:
            return None
        prediction = self.model.predict(text, grams)
        return Category(
            prediction.label, round(prediction.probability, 4), prediction.probability < self.unsure_below
        )

    def __call__(self, doc: Doc) -> Doc:
        if doc._.act in (None, DialogueAct.NONE):
            grams = ngrams_of(doc, self.model) if self.model is not None else None
            doc._.category = self.classify(text_of(doc), grams)
        return doc


class RequestTypeComponent(_Component):
    files = ("model.json", "weights.npz")

    def __init__(self, source: Path | None = None, *, rule_weight: float = 0.7) -> None:
        super().__init__(source)
        self.rule_weight = rule_weight
        self.reader = RequestTypeReader(None)
        if source is not None:
            self.load(source)

    def load(self, path: Path) -> None:
        model = LinearTextModel.load(path) if (path / "model.json").exists() else None
        self.reader = RequestTypeReader(model, rule_weight=self.rule_weight)

    def __call__(self, doc: Doc) -> Doc:
        model = self.reader.model
        doc._.request_type = self.reader(text_of(doc), ngrams_of(doc, model) if model is not None else None)
        return doc


class PlacesComponent(_Component):
    def __init__(self, source: Path | None = None, *, jurisdiction: str = "110000") -> None:
        super().__init__(source)
        self.jurisdiction = jurisdiction  # the gazetteer file stays in nlu/data/, shared by every model
        self.gazetteer: Gazetteer | None = None
        if source is not None:
            self.load(source)

    def load(self, path: Path) -> None:
        name = f"gazetteer_{self.jurisdiction}.json"
        for candidate in (path / name, DATA_DIR / name):
            if candidate.exists():
                self.gazetteer = Gazetteer.from_file(candidate)
                return
        raise FileNotFoundError(
            f"no gazetteer for jurisdiction {self.jurisdiction}: run `hotline nlu build --jurisdiction {self.jurisdiction}`"
        )

    def __call__(self, doc: Doc) -> Doc:
        if self.gazetteer is None:
            return doc
        resolved = self.gazetteer.resolve(text_of(doc))
        doc._.places = resolved
        spans = []
        for level, (_, mention) in resolved.units.items():
            label = ENTITY_LABELS.get(level)
            if mention is not None and label is not None:
                span = doc.char_span(mention.start, mention.end, label=label)
                if span is not None:
                    spans.append(span)
        doc.ents = sorted(spans, key=lambda span: span.start)
        return doc


class UrgencyComponent(_Component):
    def load(self, path: Path) -> None:
        pass

    def __call__(self, doc: Doc) -> Doc:
        doc._.urgency = urgency(text_of(doc))
        return doc


class FaqComponent(_Component):
    """Answers only questions (咨询), never an urgent message, a dialogue act or a long description."""

    def __init__(  # the knowledge base stays in nlu/data/ so it can be edited without retraining
        self,
        source: Path | None = None,
        *,
        threshold: float = 0.5,
        margin: float = 0.0,
        max_length: int = 80,
        sentence_encoder: bool = True,
        normalize: Callable[[str], str] = str,
    ) -> None:
        super().__init__(source)
        self.threshold, self.margin, self.max_length = threshold, margin, max_length
        self.sentence_encoder = sentence_encoder
        self.normalize = normalize
        self.index: FaqIndex | None = None
        if source is not None:
            self.load(source)

    def load(self, path: Path) -> None:
        kb = path / "faq.jsonl" if (path / "faq.jsonl").exists() else DATA_DIR / "faq.jsonl"
        self.index = FaqIndex.from_file(
            kb,
            threshold=self.threshold,
            margin=self.margin,
            encoder=UniversalSentenceEncoder() if self.sentence_encoder else None,
            normalize=self.normalize,
        )

    def __call__(self, doc: Doc) -> Doc:
        request: tuple[RequestType, float] | None = doc._.request_type
        danger: Urgency | None = doc._.urgency
        if (
            self.index is not None
            and doc._.act in (None, DialogueAct.NONE)
            and request is not None
            and request[0] is RequestType.ASK
            and not (danger is not None and danger.urgent)
            and len(text_of(doc)) <= self.max_length
        ):
            doc._.faq = self.index.answer(text_of(doc), section=doc._.lane or "citizen")
        return doc


def _read_taxonomy(path: Path) -> tuple[str, ...]:
    labels: dict[str, None] = {}
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        if line.strip():
            labels.setdefault(line.split(",")[0].strip(), None)
    return tuple(labels)


# -- factories: how `spacy.load` rebuilds each component from config.cfg ------------------------------


@Language.factory("hotline_acts")
def _make_acts(nlp: Language, name: str) -> ActsComponent:
    return ActsComponent()


@Language.factory("hotline_category", default_config={"unsure_below": 0.6})
def _make_category(nlp: Language, name: str, unsure_below: float) -> CategoryComponent:
    return CategoryComponent(unsure_below=unsure_below)


@Language.factory("hotline_request_type", default_config={"rule_weight": 0.7})
def _make_request_type(nlp: Language, name: str, rule_weight: float) -> RequestTypeComponent:
    return RequestTypeComponent(rule_weight=rule_weight)


@Language.factory("hotline_places", default_config={"jurisdiction": "110000"})
def _make_places(nlp: Language, name: str, jurisdiction: str) -> PlacesComponent:
    return PlacesComponent(jurisdiction=jurisdiction)


@Language.factory("hotline_urgency")
def _make_urgency(nlp: Language, name: str) -> UrgencyComponent:
    return UrgencyComponent()


@Language.factory(
    "hotline_faq",
    default_config={"threshold": 0.5, "margin": 0.0, "max_length": 80, "sentence_encoder": True},
)
def _make_faq(
    nlp: Language, name: str, threshold: float, margin: float, max_length: int, sentence_encoder: bool
) -> FaqComponent:
    return FaqComponent(
        threshold=threshold, margin=margin, max_length=max_length, sentence_encoder=sentence_encoder
    )


PIPE_ORDER = (
    "hotline_acts",
    "hotline_request_type",
    "hotline_urgency",
    "hotline_category",
    "hotline_places",
    "hotline_faq",
)


def assemble(sources: dict[str, Path], config: dict[str, dict[str, Any]] | None = None) -> Language:
    """A fresh pipeline whose components read their files from `sources` (component name → directory)."""
    import spacy

    nlp = spacy.blank("zh")  # the default segmenter: one token per character, no word-segmentation model
    for name in PIPE_ORDER:
        component = nlp.add_pipe(name, config=(config or {}).get(name, {}))
        if name in sources:
            component.from_disk(sources[name])  # type: ignore[attr-defined]
    return nlp


def save_meta(path: Path, extra: dict[str, Any]) -> None:
    meta_path = path / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta.update(extra)
    meta_path.write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
