#!/usr/bin/env python3
"""Build the environment's seed images as one OCI layout from Debian's busybox-static.

usage: make-images.py OUT_DIR

Writes OUT_DIR (an OCI image layout; every image is a ref in index.json) and OUT_DIR/seed.txt with
one line per image to push: `<layout-ref> <acr|plain> <repository:tag>`.

Deterministic: the same busybox binary gives the same digests on every run. Every image shares one
busybox layer and has its own small layer naming it, so each tag has a distinct digest; the image
configs' `created` times are one hour apart in seed order.
"""

import datetime
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile

BUSYBOX = "/bin/busybox"
APPLETS = ["sh", "sleep", "ls", "cat", "echo", "env", "wget", "true", "false", "ps", "id"]
BASE_TIME = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def write_blob(out, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    path = os.path.join(out, "blobs", "sha256", digest.split(":", 1)[1])
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)
    return {"digest": digest, "size": len(data)}


def tar_bytes(entries):
    """entries: list of (name, kind, payload) with kind 'dir' | 'file' | 'exe' | 'symlink'."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, payload in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            elif kind == "symlink":
                info.type = tarfile.SYMTYPE
                info.linkname = payload
                info.mode = 0o777
                tar.addfile(info)
            else:
                info.size = len(payload)
                info.mode = 0o755 if kind == "exe" else 0o644
                tar.addfile(info, io.BytesIO(payload))
    return buf.getvalue()


def gz(data):
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=6) as f:
        f.write(data)
    return buf.getvalue()


def layer(out, entries):
    raw = tar_bytes(entries)
    desc = write_blob(out, gz(raw))
    desc["mediaType"] = OCI_LAYER
    return desc, "sha256:" + hashlib.sha256(raw).hexdigest()


class Builder:
    def __init__(self, out):
        self.out = out
        self.hour = 0
        with open(BUSYBOX, "rb") as f:
            busybox = f.read()
        entries = [("bin", "dir", None), ("bin/busybox", "exe", busybox)]
        entries += [(f"bin/{a}", "symlink", "busybox") for a in APPLETS]
        entries += [("tmp", "dir", None), ("etc", "dir", None)]
        entries += [("etc/passwd", "file", b"root:x:0:0:root:/root:/bin/sh\n")]
        self.base, self.base_diff = layer(out, entries)

    def image(self, name, arch, variant=None):
        """An image manifest for `name` (its identity, e.g. 'web:1.0.3') and platform."""
        created = BASE_TIME + datetime.timedelta(hours=self.hour)
        self.hour += 1
        marker = f"{name} linux/{arch}\n".encode()
        top, top_diff = layer(self.out, [("etc/berth-image", "file", marker)])
        config = {
            "architecture": arch,
            "os": "linux",
            "created": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "config": {
                "Cmd": ["/bin/busybox", "sleep", "3600000"],
                "Env": ["PATH=/bin"],
                "WorkingDir": "/",
                "Labels": {"org.opencontainers.image.title": name},
            },
            "rootfs": {"type": "layers", "diff_ids": [self.base_diff, top_diff]},
            "history": [
                {"created": created.strftime("%Y-%m-%dT%H:%M:%SZ"), "created_by": "make-images.py busybox"},
                {"created": created.strftime("%Y-%m-%dT%H:%M:%SZ"), "created_by": f"make-images.py {name}"},
            ],
        }
        if variant:
            config["variant"] = variant
        cfg = write_blob(self.out, json.dumps(config, sort_keys=True).encode())
        cfg["mediaType"] = OCI_CONFIG
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": cfg,
            "layers": [self.base, top],
        }
        desc = write_blob(self.out, json.dumps(manifest, sort_keys=True).encode())
        desc["mediaType"] = OCI_MANIFEST
        platform = {"architecture": arch, "os": "linux"}
        if variant:
            platform["variant"] = variant
        return desc, platform

    def index(self, name, platforms):
        manifests = []
        for arch, variant in platforms:
            desc, platform = self.image(name, arch, variant)
            desc = dict(desc)
            desc["platform"] = platform
            manifests.append(desc)
        idx = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
        desc = write_blob(self.out, json.dumps(idx, sort_keys=True).encode())
        desc["mediaType"] = OCI_INDEX
        return desc


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make-images.py OUT_DIR")
    out = sys.argv[1]
    os.makedirs(os.path.join(out, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(out, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    b = Builder(out)
    refs = []  # (layout ref, descriptor, [(kind, dest)])

    def add(ref, desc, dests):
        refs.append((ref, desc, dests))

    for i in range(30):
        tag = f"1.0.{i}"
        desc, _ = b.image(f"web:{tag}", "amd64")
        dests = [("acr", f"web:{tag}")]
        if i == 29:
            dests.append(("acr", "web:latest"))
        if i == 0:
            dests.append(("plain", "mirror/web:1.0.0"))
        add(f"web-{tag}", desc, dests)
    for tag in ["2.0.0", "2.1.0", "2.2.0"]:
        add(f"api-{tag}", b.image(f"api:{tag}", "amd64")[0], [("acr", f"api:{tag}")])
    add("worker-1.0", b.image("worker:1.0", "amd64")[0], [("acr", "worker:1.0")])
    add("multiarch-1.0", b.index("tools/multiarch:1.0", [("amd64", None), ("arm64", "v8")]),
        [("acr", "tools/multiarch:1.0")])
    add("armonly-1.0", b.index("tools/armonly:1.0", [("arm64", "v8"), ("s390x", None)]),
        [("acr", "tools/armonly:1.0")])
    add("busybox-1.35", b.image("library/busybox:1.35", "amd64")[0],
        [("plain", "library/busybox:1.35")])

    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
    for ref, desc, _ in refs:
        d = dict(desc)
        d["annotations"] = {"org.opencontainers.image.ref.name": ref}
        index["manifests"].append(d)
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump(index, f, sort_keys=True)
    with open(os.path.join(out, "seed.txt"), "w") as f:
        for ref, desc, dests in refs:
            for kind, dest in dests:
                f.write(f"{ref} {kind} {dest} {desc['digest']}\n")


if __name__ == "__main__":
    main()
