"""The human-readable documents of a release: README.md datasheet, CITATION.cff, CITATION.bib,
and the responsible-AI statements croissant.json shares with the datasheet.

Pure text from plain values; no timestamps, so the same release gives the same bytes. These files
are in English (they ship inside the dataset, for researchers), not translated per request.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from processing.motion.limits import NOISE_SCALE_RANGE, REFERENCE_HEIGHT_M
from releases.build import INDEX, RELEASE_EVENTS_SCHEMA, RELEASE_MOTION_SCHEMA

# Groups of fewer contributors than this are merged before anything about them is published.
MIN_GROUP_CONTRIBUTORS = 5
SUPPRESSED = "other (groups of fewer than 5 contributors)"

LICENCE_URLS = {
    "CC-BY-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "CC-BY-SA-4.0": "https://creativecommons.org/licenses/by-sa/4.0/",
    "CC-BY-NC-4.0": "https://creativecommons.org/licenses/by-nc/4.0/",
    "CC0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
    "ODbL-1.0": "https://opendatacommons.org/licenses/odbl/1-0/",
}

DATA_COLLECTION = (
    "Volunteers recorded themselves in consumer VR headsets and donated the recordings through "
    "the MetaGen website. Each donor consented scope by scope (modality x use) to a versioned "
    "consent document; every recording in this release was admitted by a consent event that "
    "covered the dataset's required scopes when the release was built, and was reviewed and "
    "accepted by a curator."
)
PERSONAL_INFORMATION = (
    "Motion is biometric: body size and movement style can re-identify a person, even without "
    "names. Identifying metadata (names, platform, user and device ids, absolute timestamps, "
    "free text) is stripped, space is recentred under the starting head position, contributor "
    "and recording ids are keyed pseudonyms specific to this dataset, and attributes of groups "
    "smaller than 5 contributors are not published. Voice audio, where present, is personal "
    "data and is included only from donors who consented to release their audio."
)
BODY_SIZE_PROFILES = {
    "keep": (
        "Body size is kept as recorded (this dataset's anonymization profile), so "
        "re-identification by body size and proportions remains possible; do not attempt it."
    ),
    "normalize": (
        f"Body size is normalized (this dataset's anonymization profile): each recording's "
        f"positions are scaled about the origin so its estimated standing height is "
        f"{REFERENCE_HEIGHT_M:.2f} m (from the skeleton's rest pose, else the head's 95th "
        f"percentile height over 0.936), and metre values in events scale with them; recordings "
        f"whose height cannot be estimated are left out. Absolute size is hidden, but "
        f"proportions and movement style remain; do not attempt re-identification."
    ),
    "noise": (
        f"Body size is randomly scaled (this dataset's anonymization profile): each recording's "
        f"positions, and metre values in its events, are scaled about the origin by a factor "
        f"between {NOISE_SCALE_RANGE[0]:.2f} and {NOISE_SCALE_RANGE[1]:.2f}, the same for a "
        f"recording in every version of this dataset and not published. Size is only blurred, "
        f"so re-identification by body size remains possible; do not attempt it."
    ),
}


def limitations(body_size: str) -> str:
    """The limitations statement for a dataset's body-size profile."""
    return (
        "Volunteer recordings are not a representative sample of people, bodies, abilities or "
        f"headsets. Tracking quality varies by device. {BODY_SIZE_PROFILES[body_size]} Donors "
        "may withdraw: later versions drop their recordings and the withdrawal feed lists them, "
        "but copies already downloaded cannot be recalled, so please honour it."
    )


BIASES = (
    "Contributors self-select (people with VR headsets who volunteer), which skews age, gender, "
    "ability and region in ways the platform does not measure."
)
USE_CASES = (
    "Research on human motion: training and evaluating generative models of head, hand and body "
    "motion conditioned on other modalities (audio, music, game events); motion prediction and "
    "analysis. Not for identifying, profiling or tracking people."
)
PREPROCESSING = (
    "Each input format is validated and converted into one canonical model (metres, seconds, "
    "right-handed, +Y up, -Z forward, unit quaternions xyzw), anonymized as described, and "
    "stored as Parquet with a fixed schema."
)
MAINTENANCE = (
    "Releases are immutable and versioned semantically; each version lists its changes against "
    "the previous one in changes.json. A withdrawal feed per dataset lists recordings withdrawn "
    "since each release."
)


def licence_url(licence: str) -> str:
    return LICENCE_URLS.get(licence, f"https://spdx.org/licenses/{licence}.html")


@dataclass
class ReleaseStats:
    """Counts over a release's recordings, gathered one row at a time."""

    recordings: int = 0
    seconds: float = 0.0
    with_audio: int = 0
    with_events: int = 0
    formats: Counter[str] = field(default_factory=Counter)
    rates: Counter[str] = field(default_factory=Counter)
    _contributors: set[str] = field(default_factory=set)
    _device_contributors: defaultdict[str, set[str]] = field(
        default_factory=lambda: defaultdict(set)
    )
    devices: Counter[str] = field(default_factory=Counter)

    def add(self, row: dict[str, Any]) -> None:
        self.recordings += 1
        self.seconds += float(row["duration_s"])
        self.formats[row["source_format"]] += 1
        self.rates[f"{round(float(row['frame_rate']))} Hz"] += 1
        self.devices[row["device_class"]] += 1
        self._contributors.add(row["contributor_id"])
        self._device_contributors[row["device_class"]].add(row["contributor_id"])
        self.with_audio += bool(row.get("audio_file"))
        self.with_events += bool(row.get("events_file"))

    @property
    def contributors(self) -> int:
        return len(self._contributors)

    @property
    def hours(self) -> float:
        return self.seconds / 3600

    def devices_by_contributors(self) -> dict[str, int]:
        """Contributors per device class; classes with fewer than 5 contributors are merged
        into one group, which is itself dropped if it is still smaller than 5."""
        shown: dict[str, int] = {}
        merged: set[str] = set()
        for name, people in sorted(self._device_contributors.items()):
            if len(people) >= MIN_GROUP_CONTRIBUTORS:
                shown[name] = len(people)
            else:
                merged |= people
        if len(merged) >= MIN_GROUP_CONTRIBUTORS:
            shown[SUPPRESSED] = len(merged)
        return shown


@dataclass(frozen=True)
class Documents:
    slug: str
    title: str
    description: str
    version: str
    licence: str
    url: str
    access_tier: str
    required_scopes: list[str]
    modalities: list[str]
    citation: str
    doi: str
    year: int
    body_size: str = "keep"
    # Recordings the build left out because the profile could not be applied to them.
    excluded: int = 0


def cite_as(doc: Documents) -> str:
    if doc.citation:
        return doc.citation
    doi = f" https://doi.org/{doc.doi}" if doc.doi else f" {doc.url}"
    return f"MetaGen contributors ({doc.year}). {doc.title}, version {doc.version}.{doi}"


def bibtex_bytes(doc: Documents) -> bytes:
    key = f"metagen_{doc.slug.replace('-', '_')}_{doc.version.replace('.', '_')}"
    lines = [
        f"@misc{{{key},",
        "  author = {{MetaGen contributors}},",
        f"  title = {{{{{doc.title}}}}},",
        f"  version = {{{doc.version}}},",
        f"  year = {{{doc.year}}},",
        f"  url = {{{doc.url}}},",
        f"  note = {{Licence: {doc.licence}}},",
    ]
    if doc.doi:
        lines.append(f"  doi = {{{doc.doi}}},")
    lines.append("}")
    return ("\n".join(lines) + "\n").encode()


def citation_cff_bytes(doc: Documents) -> bytes:
    lines = [
        "cff-version: 1.2.0",
        'message: "If you use this dataset, please cite it as below."',
        "type: dataset",
        f'title: "{doc.title}"',
        f'version: "{doc.version}"',
        f'license: "{doc.licence}"',
        f'url: "{doc.url}"',
        "authors:",
        '  - name: "MetaGen contributors"',
    ]
    if doc.doi:
        lines.append(f'doi: "{doc.doi}"')
    return ("\n".join(lines) + "\n").encode()


def _table(counter: dict[str, int]) -> str:
    if not counter:
        return "(none)\n"
    rows = "".join(f"| {name} | {count} |\n" for name, count in sorted(counter.items()))
    return "| value | count |\n|---|---|\n" + rows


def _schema(schema: Any) -> str:
    return "".join(f"| `{f.name}` | {f.type} |\n" for f in schema)


def _left_out(doc: Documents) -> str:
    if not doc.excluded:
        return ""
    return (
        f" {doc.excluded} eligible recording(s) were left out because their height could not be"
        " estimated (listed in `changes.json`)."
    )


def readme_bytes(doc: Documents, stats: ReleaseStats, *, shard_count: int) -> bytes:
    carries = ", ".join(["motion", *doc.modalities])
    tier = (
        "open: anyone may download it under the licence"
        if doc.access_tier == "open"
        else "restricted: downloads require accepting the dataset's data-use agreement"
    )
    text = f"""# {doc.title} — version {doc.version}

{doc.description}

- Licence: {doc.licence} ({licence_url(doc.licence)})
- Access: {tier}
- Modalities: {carries}
- Web page: {doc.url}

## Contents

| | |
|---|---|
| Recordings | {stats.recordings} |
| Hours of motion | {stats.hours:.2f} |
| Contributors | {stats.contributors} |
| Recordings with voice audio | {stats.with_audio} |
| Recordings with events | {stats.with_events} |
| Motion shards | {shard_count} |

Definitions: a *recording* is one donated take; *hours* sum the recordings' durations (last frame
time minus first); a *contributor* is a distinct donor (pseudonymous `contributor_id`); the
*device class* says what was tracked: `full-body` (a skeleton), `head-and-hands`, `head-only`
or `other`.

### Source formats (recordings)
{_table(dict(stats.formats))}
### Frame rates (recordings, rounded)
{_table(dict(stats.rates))}
### Device classes (contributors)
{_table(stats.devices_by_contributors())}
Groups of fewer than {MIN_GROUP_CONTRIBUTORS} contributors are merged or left out, so that no
small group can be singled out.

## Files

- `{INDEX}`: one row per recording (the index).
- `data/motion-NNNNN.parquet`: motion shards; rows ordered by recording, then in blocks of
  131,072 frames (24 minutes at 90 Hz), each block by track, then frame: a shorter recording is
  ordered by track then frame, and a track filtered out of a longer one still reads in frame
  order.
- `data/events-NNNNN.parquet`: timed events (when the dataset carries events).
- `audio/<recording_id>.flac`: voice audio (when the dataset carries audio and the donor
  consented to release it).
- `manifest.json` and `SHA256SUMS`: size and SHA-256 of every file (`sha256sum -c SHA256SUMS`).
- `croissant.json`: MLCommons Croissant 1.0 metadata; `changes.json`: changes against the
  previous version; `CITATION.cff`, `CITATION.bib`: how to cite.

### Motion schema
| column | type |
|---|---|
{_schema(RELEASE_MOTION_SCHEMA)}
Units and frame: metres, seconds from the recording's start, right-handed, +Y up, -Z forward;
rotations are unit quaternions (x, y, z, w).

### Events schema
| column | type |
|---|---|
{_schema(RELEASE_EVENTS_SCHEMA)}
## Collection and consent

{DATA_COLLECTION}

Required consent scopes for this dataset: {", ".join(doc.required_scopes) or "(none)"}.

## Anonymization and its limits

{PREPROCESSING}

{PERSONAL_INFORMATION}

Body-size profile: `{doc.body_size}`.{_left_out(doc)}

{limitations(doc.body_size)}

## Intended uses

{USE_CASES}

## How to load

```python
import pyarrow.dataset as ds
motion = ds.dataset("data/", format="parquet").to_table()
recordings = ds.dataset("{INDEX}", format="parquet").to_table()
```

```python
import polars as pl
motion = pl.scan_parquet("data/motion-*.parquet")
```

## How to cite

{cite_as(doc)}

See `CITATION.cff` and `CITATION.bib`.
"""
    return text.encode()
