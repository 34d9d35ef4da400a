"""The embedded default's object storage: Django's FileSystemStorage that, like a bucket, keeps
no empty folders. Deleting an object's last file removes the folders it leaves empty, up to (not
including) the storage root: `uploads/<session>/` after an upload completes, `raw/<donation>/`
and `processed/<sha256>/v<n>/` after a withdrawal or a purge."""

from pathlib import Path
from typing import Any

from django.core.files.storage import FileSystemStorage

# A parallel delete may prune a folder between the save creating it and creating the file in it.
_SAVE_ATTEMPTS = 3


class LocalObjectStorage(FileSystemStorage):
    def delete(self, name: str) -> None:
        super().delete(name)
        self._prune_empty_folders(Path(self.path(name)).parent)

    def _prune_empty_folders(self, folder: Path) -> None:
        root = Path(self.location).resolve()
        folder = folder.resolve()
        while folder != root and root in folder.parents:
            try:
                folder.rmdir()
            except OSError:  # not empty (or already gone): nothing more to prune above it
                if folder.exists():
                    return
            folder = folder.parent

    def _save(self, name: str, content: Any) -> str:
        for attempt in range(_SAVE_ATTEMPTS):
            try:
                return str(super()._save(name, content))
            except FileNotFoundError:
                if attempt == _SAVE_ATTEMPTS - 1:
                    raise
                if hasattr(content, "seek"):
                    content.seek(0)
        raise AssertionError("unreachable")
