"""`Nlu`: the spaCy pipeline loaded once, and `analyze` reading one message with no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import cast

from . import components
from .address import address_after, address_anywhere
from .components import (
    RESULTS,
    CategoryComponent,
    Component,
    FaqComponent,
    PlacesComponent,
    Reading,
    RequestTypeComponent,
)
from .enterprise import detect_enterprise
from .faq import FaqIndex
from .gazetteer import Gazetteer, Level, Mention, Resolved, Unit
from .normalize import Normalizer
from .request_type import RequestTypeReader
from .types import (
    Analysis,
    AnalysisContext,
    Category,
    DialogueAct,
    Location,
    Place,
    RequestType,
    Urgency,
)

PACKAGE_DIR = Path(__file__).parent
DATA_DIR = PACKAGE_DIR / "data"
DEFAULT_MODEL_DIR = PACKAGE_DIR / "models" / "default"


class Nlu:
    """Reads citizen messages. Immutable after `load`; `analyze` is safe to call from many threads.

    `analyze` calls the components on a `Reading` of the text, without spaCy: making a Doc, setting its
    extension attributes and spaCy's pipe loop cost more than the rules of a short message. A pipeline
    with components of other kinds, or `through_spacy=True`, runs each message through `nlp` instead."""

    def __init__(self, nlp: object, normalizer: Normalizer, *, through_spacy: bool = False) -> None:
        from spacy.language import Language

        self.nlp = cast(Language, nlp)
        self._normalize = normalizer
        self._category = cast(CategoryComponent, self.nlp.get_pipe("hotline_category"))
        self._request_type = cast(RequestTypeComponent, self.nlp.get_pipe("hotline_request_type"))
        self._places = cast(PlacesComponent, self.nlp.get_pipe("hotline_places"))
        self._faq = cast(FaqComponent, self.nlp.get_pipe("hotline_faq"))
        components = tuple(pipe for _, pipe in self.nlp.pipeline if isinstance(pipe, Component))
        self._components = (
            components if len(components) == len(self.nlp.pipeline) and not through_spacy else None
        )

    @property
    def categories(self) -> tuple[str, ...]:
        """The taxonomy's top-level labels this model can return."""
        return self._category.labels

    @property
    def gazetteer(self) -> Gazetteer:
        assert self._places.gazetteer is not None
        return self._places.gazetteer

    @property
    def jurisdiction(self) -> str:
        return self.gazetteer.jurisdiction

    @property
    def faq(self) -> FaqIndex:
        assert self._faq.index is not None
        return self._faq.index

    @property
    def request_type_reader(self) -> RequestTypeReader:
        return self._request_type.reader

    def normalize(self, text: str) -> str:
        return self._normalize(text)

    def classify(self, text: str) -> Category | None:
        """The category alone, for evaluation and batch use."""
        return self._category.classify(self._normalize(text))

    def prepare(self, texts: Sequence[str]) -> None:
        """These texts are about to be analyzed, in this thread: the questions among them that the
        FAQ would encode are encoded in one call now (`FaqIndex.encode_ahead`)."""
        if self._faq.index is not None:
            self._faq.index.encode_ahead([self._normalize(text) for text in texts], longest=self._faq.max_length)

    def analyze(self, text: str, context: AnalysisContext | None = None) -> Analysis:
        context = context or AnalysisContext()
        clean = self._normalize(text)
        business = detect_enterprise(clean)
        lane = context.lane or ("enterprise" if business else None)
        reading = Reading(clean, lane=lane)
        if self._components is not None:
            for component in self._components:
                component.read(reading)
        else:  # the results are what `Doc._` holds after every component, ours or not
            doc = self.nlp.make_doc(clean)
            doc._.clean_text, doc._.lane = clean, lane
            doc = self.nlp(doc)
            for name in RESULTS:
                setattr(reading, name, getattr(doc._, name))
        request_type, request_confidence = cast(tuple[RequestType, float], reading.request_type)
        return Analysis(
            text=clean,
            request_type=request_type,
            request_type_confidence=request_confidence,
            category=reading.category,
            location=self._locate(clean, cast(Resolved, reading.places), context),
            urgency=cast(Urgency, reading.urgency),
            faq=reading.faq,
            act=cast(DialogueAct, reading.act),
            ticket_numbers=cast(tuple[str, ...], reading.ticket_numbers),
            phone_numbers=cast(tuple[str, ...], reading.phone_numbers),
            enterprise=business,
        )

    def _locate(self, text: str, resolved: Resolved, context: AnalysisContext) -> Location:
        """District, street/town, community and the rest of the address; a map pin's label too.

        A pin's coordinates are passed through as they are: the division data has no coordinates, so a
        pin without a readable label resolves to no place (an operator sees the point on the map)."""
        if not resolved.units and context.pin_label:
            resolved = self.gazetteer.resolve(self._normalize(context.pin_label))
        places = {level: _place(unit, mention) for level, (unit, mention) in resolved.units.items()}
        return Location(
            district=places.get("district"),
            street=places.get("street"),
            community=places.get("community"),
            address=_rest_of_address(text, resolved),
            latitude=context.latitude,
            longitude=context.longitude,
        )


def _place(unit: Unit, mention: Mention | None) -> Place:
    return Place(name=unit.name, code=unit.code, mention=mention.text if mention else "")


def _rest_of_address(text: str, resolved: Resolved) -> str:
    named = [(unit, mention) for unit, mention in resolved.units.values() if mention is not None]
    levels: set[Level] = set(resolved.units)
    if named:
        unit, last = max(named, key=lambda pair: pair[1].end)
        # A bare name that starts a road (「望京西路」) or that is a landmark standing for a larger unit
        # (「天通苑」 for 昌平区) belongs to the address too.
        landmark = not unit.name.startswith(last.text)
        road = "community" not in levels and _road_follows(text, last.end)
        start = last.start if not last.exact and (road or landmark) else last.end
        value = address_after(text, start)
        if value:
            return value
    for mention in resolved.mentions:  # a road that implied the district (「知春路上」) starts the address
        if any(unit.level == "road" for unit in mention.candidates):
            return address_after(text, mention.start) or mention.text
    found = address_anywhere(text)
    return found[0] if found else ""


def _road_follows(text: str, index: int) -> bool:
    return text[index : index + 2] in {"西路", "东路", "南路", "北路", "中路", "大街", "路口"} or text[
        index : index + 1
    ] in {
        "路",
        "街",
        "桥",
    }


def load(
    model_dir: Path | None = None, *, jurisdiction: str = "110000", sentence_encoder: bool = True
) -> Nlu:
    """Load the pipeline directory (default: the one shipped in the package) for a jurisdiction.

    `sentence_encoder=False` skips the paraphrase encoder of the FAQ (faster start, FAQ by wording only).
    """
    import spacy

    model_dir = model_dir or DEFAULT_MODEL_DIR
    if not (model_dir / "config.cfg").exists():
        raise FileNotFoundError(f"{model_dir} is not an NLU model directory; run `hotline nlu train`")
    _ = components  # registers the factories spaCy's config names
    nlp = spacy.load(
        model_dir,
        config={
            "components": {
                "hotline_places": {"jurisdiction": jurisdiction},
                "hotline_faq": {"sentence_encoder": sentence_encoder},
            }
        },
    )
    return Nlu(nlp, Normalizer.from_file(DATA_DIR / "t2s.json"))
