"""The NLU as a spaCy pipeline (blank Chinese, one token per character): one component per task,
each saving and loading its own files, so the whole model is one directory that `spacy.load` reads.

Each component reads a `Reading` (the message's text and what the components before it found) and adds
its own results. Run by spaCy, the Reading rides on the Doc and the results are copied to `Doc._`
extensions; places also become `doc.ents` (DISTRICT / STREET / COMMUNITY), so spaCy's own tools
(displaCy, Span) work on them. `Nlu.analyze` passes a Reading along the components without a Doc.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

from . import numbers
from .acts import dialogue_act
from .encoder import UniversalSentenceEncoder
from .faq import FaqIndex
from .gazetteer import Gazetteer, Resolved
from .linear import LinearTextModel, Ngrams
from .request_type import RequestTypeReader
from .types import Category, DialogueAct, FaqAnswer, RequestType, Urgency
from .urgency import urgency

DATA_DIR = Path(__file__).parent / "data"
ENTITY_LABELS = {"district": "DISTRICT", "street": "STREET", "community": "COMMUNITY"}

# The Reading's fields the components set; each is also a `Doc._` extension.
RESULTS = ("act", "ticket_numbers", "phone_numbers", "request_type", "urgency", "category", "places", "faq")

for _name in ("clean_text", "lane", "reading", *RESULTS):
    if not Doc.has_extension(_name):
        Doc.set_extension(_name, default=None)


@dataclass(slots=True)
class Reading:
    """One message under analysis: its normalised text, and what the components have found so far."""

    text: str
    lane: str | None = None  # "enterprise": answer from the businesses' FAQ
    act: DialogueAct | None = None
    ticket_numbers: tuple[str, ...] | None = None
    phone_numbers: tuple[str, ...] | None = None
    request_type: tuple[RequestType, float] | None = None
    urgency: Urgency | None = None
    category: Category | None = None
    places: Resolved | None = None
    faq: FaqAnswer | None = None
    _ngrams: dict[tuple[int, int, int], Ngrams] = field(default_factory=dict)

    def ngrams(self, model: LinearTextModel) -> Ngrams:
        """Character n-gram counts, counted once per message and shared by the models that read them."""
        grams = self._ngrams.get(model.view)
        if grams is None:
            grams = self._ngrams[model.view] = model.ngrams(self.text)
        return grams


def reading_of(doc: Doc) -> Reading:
    """The Doc's Reading, made on first use from `Doc._.clean_text` (or the text) and `Doc._.lane`."""
    reading: Reading | None = doc._.reading
    if reading is None:
        text: str | None = doc._.clean_text
        reading = Reading(doc.text if text is None else text, lane=doc._.lane)
        doc._.reading = reading
    return reading


class Component:
    """Base: `read` does the work; `to_disk`/`from_disk` copy named files between the model directory
    and the component."""

    files: tuple[str, ...] = ()
    results: tuple[str, ...] = ()  # its `RESULTS`, copied to `Doc._` when spaCy runs it

    def __init__(self, source: Path | None = None) -> None:
        self._source = source

    def read(self, reading: Reading) -> None:
        raise NotImplementedError

    def __call__(self, doc: Doc) -> Doc:
        reading = reading_of(doc)
        self.read(reading)
        for name in self.results:
            setattr(doc._, name, getattr(reading, name))
        return doc

    def to_disk(self, path: Path, *, exclude: Iterable[str] = ()) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        if self._source is not None and self._source.resolve() != path.resolve():
            for name in self.files:
                if (self._source / name).exists():
                    shutil.copy(self._source / name, path / name)

    def from_disk(self, path: Path, *, exclude: Iterable[str] = ()) -> Component:
        self._source = Path(path)
        self.load(Path(path))
        return self

    def load(self, path: Path) -> None:
        raise NotImplementedError


class ActsComponent(Component):
    results = ("ticket_numbers", "phone_numbers", "act")

    def load(self, path: Path) -> None:
        pass

    def read(self, reading: Reading) -> None:
        tickets = numbers.ticket_numbers(reading.text)
        reading.ticket_numbers = tickets
        reading.phone_numbers = numbers.phone_numbers(reading.text)
        reading.act = dialogue_act(reading.text, has_ticket_number=bool(tickets))


class CategoryComponent(Component):
    files = ("model.json", "weights.npz", "taxonomy.csv")
    results = ("category",)

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

    def classify(self, text: str, grams: Ngrams | None = None) -> Category | None:
        if self.model is None or len(text) < 2:
            return None
        prediction = self.model.predict(text, grams)
        return Category(
            prediction.label, round(prediction.probability, 4), prediction.probability < self.unsure_below
        )

    def read(self, reading: Reading) -> None:
        if reading.act in (None, DialogueAct.NONE):
            grams = reading.ngrams(self.model) if self.model is not None else None
            reading.category = self.classify(reading.text, grams)


class RequestTypeComponent(Component):
    files = ("model.json", "weights.npz")
    results = ("request_type",)

    def __init__(self, source: Path | None = None, *, rule_weight: float = 0.7) -> None:
        super().__init__(source)
        self.rule_weight = rule_weight
        self.reader = RequestTypeReader(None)
        if source is not None:
            self.load(source)

    def load(self, path: Path) -> None:
        model = LinearTextModel.load(path) if (path / "model.json").exists() else None
        self.reader = RequestTypeReader(model, rule_weight=self.rule_weight)

    def read(self, reading: Reading) -> None:
        model = self.reader.model
        reading.request_type = self.reader(reading.text, reading.ngrams(model) if model is not None else None)


class PlacesComponent(Component):
    results = ("places",)

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

    def read(self, reading: Reading) -> None:
        if self.gazetteer is not None:
            reading.places = self.gazetteer.resolve(reading.text)

    def __call__(self, doc: Doc) -> Doc:
        super().__call__(doc)
        resolved: Resolved | None = doc._.places
        if resolved is None:
            return doc
        spans = []
        for level, (_, mention) in resolved.units.items():
            label = ENTITY_LABELS.get(level)
            if mention is not None and label is not None:
                span = doc.char_span(mention.start, mention.end, label=label)
                if span is not None:
                    spans.append(span)
        doc.ents = sorted(spans, key=lambda span: span.start)
        return doc


class UrgencyComponent(Component):
    results = ("urgency",)

    def load(self, path: Path) -> None:
        pass

    def read(self, reading: Reading) -> None:
        reading.urgency = urgency(reading.text)


class FaqComponent(Component):
    """Answers only questions (咨询), never an urgent message, a dialogue act or a long description."""

    results = ("faq",)

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

    def read(self, reading: Reading) -> None:
        request, danger = reading.request_type, reading.urgency
        if (
            self.index is not None
            and reading.act in (None, DialogueAct.NONE)
            and request is not None
            and request[0] is RequestType.ASK
            and not (danger is not None and danger.urgent)
            and len(reading.text) <= self.max_length
        ):
            reading.faq = self.index.answer(reading.text, section=reading.lane or "citizen")


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
