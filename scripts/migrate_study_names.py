"""Write each committed record's study and condition into it, once (records made before a
run knew its study). Membership is decided here as the report decided it before: a
study's marker setting (label noise, per-class budget, held-out classes, input noise) is
set, or the record's model, settings and method options are exactly one of the study's
conditions on the study's profile. Nothing else of a record changes.

    python scripts/migrate_study_names.py results        # rewrites records in place
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path

from bench.core.config import RunSpec, profile_settings
from bench.core.store import Store, load_record
from bench.core.studies import STUDIES, Study

MARKERS = {
    "label-noise": "label_noise",
    "low-resource": "per_class",
    "input-noise": "input_noise",
    "ood": "ood_classes",
}


def member(study: Study, spec: RunSpec) -> bool:
    """The membership test the report used before records carried their study."""
    marker = MARKERS.get(study.name)
    if marker is not None:
        return marker in spec.settings.regime()
    if spec.model != study.model:
        return False
    options = dict(spec.method_options)
    for condition in study.conditions:
        if spec.method not in study.condition_methods(condition):
            continue
        wanted = condition.get("options", {})
        if spec.settings != profile_settings(study.profile, **study.overrides(condition)):
            continue
        if not wanted or (spec.method in wanted and wanted[spec.method].items() <= options.items()):
            return True
    return False


def rewrite(path: Path, record) -> None:
    """Write the record back to its own file (old specs keep their file's hash), atomically."""
    tmp = path.with_name(f".tmp-{path.name}")
    tmp.write_text(json.dumps(record.to_json(), indent=1, sort_keys=True))
    os.replace(tmp, path)


def main(root: str) -> None:
    store = Store(Path(root))
    changed = 0
    for path in store.record_paths():
        record = load_record(path)
        spec = record.spec
        names = [s.name for s in STUDIES.values() if member(s, spec)]
        if len(names) > 1:
            raise SystemExit(f"{path}: in several studies ({', '.join(names)}): resolve by hand")
        study = names[0] if names else ""
        condition = STUDIES[study].label(dataclasses.replace(spec, study=study))[0] if study else ""
        if (spec.study, spec.condition) == (study, condition):
            continue
        spec = dataclasses.replace(spec, study=study, condition=condition)
        rewrite(path, dataclasses.replace(record, spec=spec))
        changed += 1
    print(f"{changed} record(s) given their study and condition in {root}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "results")
