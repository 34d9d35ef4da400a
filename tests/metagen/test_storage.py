"""The embedded default's local-disk object storage keeps no empty folders, like a bucket."""

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from donations.services import storage_delete_prefix
from tests.donations.uploading import use_local_storage


def test_deleting_the_last_file_of_a_folder_removes_the_empty_folders_up_to_the_root(
    settings, tmp_path
):
    root = use_local_storage(settings, tmp_path)
    default_storage.save("processed/abc/v2/motion.parquet", ContentFile(b"1"))
    default_storage.save("processed/abc/v2/preview.json", ContentFile(b"2"))
    default_storage.save("processed/def/v2/motion.parquet", ContentFile(b"3"))

    default_storage.delete("processed/abc/v2/motion.parquet")
    assert (root / "processed" / "abc" / "v2").is_dir()  # one file is left in it
    default_storage.delete("processed/abc/v2/preview.json")
    assert sorted(p.name for p in (root / "processed").iterdir()) == ["def"]
    default_storage.delete("processed/def/v2/motion.parquet")
    assert list(root.iterdir()) == []  # the root itself stays
    default_storage.delete("processed/def/v2/motion.parquet")  # deleting again is fine
    assert default_storage.save("processed/abc/v2/x", ContentFile(b"4")) == "processed/abc/v2/x"


def test_deleting_an_artifact_prefix_on_local_disk_leaves_no_empty_folder(settings, tmp_path):
    root = use_local_storage(settings, tmp_path)
    for name in ("motion.parquet", "preview.json", "audio/voice.flac"):
        default_storage.save(f"processed/{'a' * 64}/v2/{name}", ContentFile(b"x"))

    storage_delete_prefix(f"processed/{'a' * 64}/v2/")

    assert list(root.iterdir()) == []
