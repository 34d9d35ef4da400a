"""croissant.json: MLCommons Croissant 1.0 metadata of a release, with its responsible-AI fields.

Pure: it describes the files the build wrote (names, checksums) and the documented schemas of
releases.build. No timestamps, so the same release gives the same bytes.
"""

import json
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from releases.build import (
    INDEX,
    INDEX_SCHEMA,
    RELEASE_EVENTS_SCHEMA,
    RELEASE_MOTION_SCHEMA,
)

CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}

PARQUET = "application/x-parquet"


@dataclass(frozen=True)
class CroissantInput:
    slug: str
    title: str
    description: str
    version: str
    licence_url: str
    url: str
    cite_as: str
    carries_events: bool
    carries_audio: bool
    index_sha256: str
    index_size: int
    data_collection: str
    personal_information: str
    limitations: str
    use_cases: str
    biases: str
    preprocessing: str
    maintenance: str


def _data_type(kind: pa.DataType) -> str:
    if pa.types.is_floating(kind):
        return "sc:Float"
    if pa.types.is_integer(kind):
        return "sc:Integer"
    if pa.types.is_boolean(kind):
        return "sc:Boolean"
    return "sc:Text"


def _fields(record_set: str, schema: pa.Schema, source: dict[str, Any]) -> list[dict[str, Any]]:
    fields = []
    for field in schema:
        kind = field.type.value_type if pa.types.is_list(field.type) else field.type
        entry: dict[str, Any] = {
            "@type": "cr:Field",
            "@id": f"{record_set}/{field.name}",
            "name": field.name,
            "dataType": _data_type(kind),
            "source": {**source, "extract": {"column": field.name}},
        }
        if pa.types.is_list(field.type):
            entry["repeated"] = True
        fields.append(entry)
    return fields


def croissant_bytes(doc: CroissantInput) -> bytes:
    distribution: list[dict[str, Any]] = [
        {
            "@type": "cr:FileObject",
            "@id": INDEX,
            "name": INDEX,
            "description": "One row per recording: pseudonymous ids, duration, rate, tracks.",
            "contentUrl": INDEX,
            "contentSize": f"{doc.index_size} B",
            "encodingFormat": PARQUET,
            "sha256": doc.index_sha256,
        },
        {
            "@type": "cr:FileSet",
            "@id": "motion-shards",
            "name": "motion-shards",
            "description": "Motion samples, one row per track and frame, in the canonical frame.",
            "encodingFormat": PARQUET,
            "includes": "data/motion-*.parquet",
        },
    ]
    record_sets: list[dict[str, Any]] = [
        {
            "@type": "cr:RecordSet",
            "@id": "recordings",
            "name": "recordings",
            "description": "The recording index.",
            "key": {"@id": "recordings/recording_id"},
            "field": _fields("recordings", INDEX_SCHEMA, {"fileObject": {"@id": INDEX}}),
        },
        {
            "@type": "cr:RecordSet",
            "@id": "motion",
            "name": "motion",
            "description": "Metres, seconds, right-handed, +Y up, -Z forward; quaternions xyzw.",
            "field": _fields(
                "motion", RELEASE_MOTION_SCHEMA, {"fileSet": {"@id": "motion-shards"}}
            ),
        },
    ]
    if doc.carries_events:
        distribution.append(
            {
                "@type": "cr:FileSet",
                "@id": "event-shards",
                "name": "event-shards",
                "description": "Timed in-app events (seconds from the recording's start).",
                "encodingFormat": PARQUET,
                "includes": "data/events-*.parquet",
            }
        )
        record_sets.append(
            {
                "@type": "cr:RecordSet",
                "@id": "events",
                "name": "events",
                "description": "Timed in-app events.",
                "field": _fields(
                    "events", RELEASE_EVENTS_SCHEMA, {"fileSet": {"@id": "event-shards"}}
                ),
            }
        )
    if doc.carries_audio:
        distribution.append(
            {
                "@type": "cr:FileSet",
                "@id": "audio-files",
                "name": "audio-files",
                "description": "Voice audio (FLAC), one file per recording, named by recording_id.",
                "encodingFormat": "audio/flac",
                "includes": "audio/*.flac",
            }
        )
    document = {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": "http://mlcommons.org/croissant/1.0",
        "name": doc.slug,
        "alternateName": doc.title,
        "description": doc.description or doc.title,
        "version": doc.version,
        "license": doc.licence_url,
        "url": doc.url,
        "citeAs": doc.cite_as,
        "keywords": ["motion capture", "virtual reality", "human motion", "data donation"],
        "isLiveDataset": False,
        "distribution": distribution,
        "recordSet": record_sets,
        "rai:dataCollection": doc.data_collection,
        "rai:dataCollectionType": ["Direct measurement", "Crowdsourced (volunteer donation)"],
        "rai:dataPreprocessingProtocol": doc.preprocessing,
        "rai:personalSensitiveInformation": doc.personal_information,
        "rai:dataLimitations": doc.limitations,
        "rai:dataBiases": doc.biases,
        "rai:dataUseCases": doc.use_cases,
        "rai:dataReleaseMaintenancePlan": doc.maintenance,
    }
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()
