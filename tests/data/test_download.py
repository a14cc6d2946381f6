"""One archive table and one download function for `dataset.download=true` and `seg data download` (offline)."""

import pytest

from seg_cli.data import voc
from seg_cli.data.download import DOWNLOADS, VOC_TRAINVAL, download_archives, download_dataset
from seg_cli.errors import DataError
from tests.helpers import write_voc


def test_seg_data_download_and_the_voc_dataset_fetch_the_same_archive():
    assert DOWNLOADS["voc"] == (VOC_TRAINVAL["2012"],) and DOWNLOADS["voc_aug"][0] == VOC_TRAINVAL["2012"]
    assert VOC_TRAINVAL["2012"].filename == "VOCtrainval_11-May-2012.tar"
    assert VOC_TRAINVAL["2012"].md5 == "6cd6e144f989b92b3379bac3b3de84fd"


def test_dataset_download_goes_through_download_archives(tmp_path, monkeypatch):
    calls = []

    def fake_download(label, archives, root, mirror=None, timeout=None):
        calls.append((label, list(archives), root))
        write_voc(root)

    monkeypatch.setattr(voc, "download_archives", fake_download)
    dataset = voc.VOCSegmentation(str(tmp_path / "data"), "train", download=True)
    assert calls == [("VOC2012", [VOC_TRAINVAL["2012"]], tmp_path / "data")] and len(dataset) == 4
    voc.VOCSegmentation(str(tmp_path / "data"), "val", download=True)  # there now: not fetched again
    assert len(calls) == 1


def test_unknown_voc_year_is_one_line():
    with pytest.raises(DataError, match=r"downloading VOC2020 into /x failed: .* 2007, 2008, .*2012"):
        voc.download_voc("/x", "2020")


def test_offline_failure_names_every_archive_and_where_to_unpack_it(tmp_path):
    # Port 9 on the loopback refuses at once (and the timeout bounds any host that does not answer).
    with pytest.raises(DataError) as error:
        download_archives("voc_aug", DOWNLOADS["voc_aug"], tmp_path, mirror="http://127.0.0.1:9", timeout=5)
    message = str(error.value)
    assert "\n" not in message and message.startswith("downloading voc_aug from http://127.0.0.1:9/VOCtrainval")
    assert f"{VOC_TRAINVAL['2012'].url} (md5 {VOC_TRAINVAL['2012'].md5}) -> unpack into {tmp_path / '.'}" in message
    assert f"SegmentationClassAug.zip?dl=1 -> unpack into {tmp_path / 'VOCdevkit/VOC2012'}" in message


def test_what_is_there_is_not_fetched(tmp_path):
    write_voc(tmp_path)
    assert download_dataset("voc", tmp_path, mirror="http://127.0.0.1:9", timeout=5) == []


def test_registration_only_sets_say_where_to_get_them_and_the_tree(tmp_path):
    with pytest.raises(DataError) as error:
        download_dataset("cityscapes", tmp_path)
    message = str(error.value)
    assert "https://www.cityscapes-dataset.com/downloads/" in message and "\n" not in message
    assert f"{tmp_path}/leftImg8bit/{{train,val}}/<city>/" in message and "dataset=cityscapes" in message
    assert not list(tmp_path.iterdir())  # nothing written


def test_the_new_public_sets_unpack_into_their_dataset_layout(tmp_path):
    from tests.data.fixtures import untransformed, write_ade20k, write_coco_stuff

    write_ade20k(tmp_path / "a")
    write_coco_stuff(tmp_path / "c")
    assert download_dataset("ade20k", tmp_path / "a", mirror="http://127.0.0.1:9", timeout=5) == []
    assert download_dataset("coco_stuff164k", tmp_path / "c", mirror="http://127.0.0.1:9", timeout=5) == []
    assert len(untransformed("ade20k", tmp_path / "a" / "ADEChallengeData2016", "train")) == 4
