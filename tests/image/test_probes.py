"""What the image test reads off the machine: the Debian release, CA files, limits, processes."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.image import probes

BOOKWORM = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_CODENAME=bookworm\n'


def test_the_base_follows_the_machines_debian_release_with_its_security_updates() -> None:
    suite = probes.debian_suite(BOOKWORM)
    assert suite == "bookworm"
    assert probes.debian_sources("http://mirror", suite) == [
        "deb http://mirror/debian bookworm main",
        "deb http://mirror/debian bookworm-updates main",
        "deb http://mirror/debian-security bookworm-security main",
    ]
    with pytest.raises(ValueError, match="Debian"):
        probes.debian_suite('ID=ubuntu\nVERSION_CODENAME="noble"\n')


def test_a_ca_bundle_pip_is_told_to_use_goes_into_the_base_unless_it_is_debians_own(
    tmp_path: Path,
) -> None:
    bundle = tmp_path / "corporate.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    found = probes.extra_ca_files(
        {"PIP_CERT": str(bundle), "SSL_CERT_FILE": str(probes.SYSTEM_BUNDLE)}
    )
    assert bundle in found
    assert probes.SYSTEM_BUNDLE not in found
    assert probes.extra_ca_files({"PIP_CERT": str(tmp_path / "missing.pem")}) == [
        path for path in found if path != bundle
    ]


def test_the_cached_base_is_made_again_when_a_certificate_or_the_week_changes(
    tmp_path: Path,
) -> None:
    cert = tmp_path / "a.crt"
    cert.write_text("one", encoding="utf-8")
    now = time.gmtime(1_800_000_000)
    key = probes.base_key("bookworm", ["python3"], [cert], now)
    assert key == probes.base_key("bookworm", ["python3"], [cert], now)
    assert key != probes.base_key("bookworm", ["python3"], [cert], time.gmtime(1_800_700_000))
    cert.write_text("two", encoding="utf-8")
    assert key != probes.base_key("bookworm", ["python3"], [cert], now)


def test_limits_uids_and_mounts_are_read_from_proc() -> None:
    limits = (
        "Limit                     Soft Limit           Hard Limit           Units\n"
        "Max processes             96367                96367                processes\n"
        "Max open files            1024                 20000                files\n"
        "Max locked memory         unlimited            unlimited            bytes\n"
    )
    assert probes.hard_limit(limits, "Max open files") == 20000
    assert probes.hard_limit(limits, "Max locked memory") == 2**31
    assert probes.uid_of("Name:\tgunicorn\nUid:\t10001\t10001\t10001\t10001\n") == 10001
    # A process that switched only its effective uid is not "running as" it.
    assert probes.uid_of("Uid:\t0\t10001\t0\t10001\n") == -1
    mounts = (
        "overlay /w/root/overlay/a/merged overlay rw 0 0\n"
        "shm /w/root/overlay-containers/b/userdata/shm tmpfs rw 0 0\n"
        "overlay /w/root/overlay overlay rw 0 0\n"
        "/dev/vda /elsewhere ext4 rw 0 0\n"
    )
    unmount = probes.mounts_under(Path("/w"), mounts)
    assert set(unmount) == {
        "/w/root/overlay/a/merged",
        "/w/root/overlay-containers/b/userdata/shm",
        "/w/root/overlay",
    }
    assert unmount[-1] == "/w/root/overlay"
