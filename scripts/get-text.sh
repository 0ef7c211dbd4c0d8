#!/usr/bin/env bash
# get-text.sh — obtain public-domain English prose from Debian packages for
# emlab's natural-language runs. Nothing is downloaded at run time: run this
# once, then pass the printed paths as corpora (emlab's data.LoadCorpus
# decodes both formats natively; see docs/tasks.md).
#
#   sword-text-web       World English Bible (SWORD zText module, OSIS markup)
#   r-cran-janeaustenr   Jane Austen's six novels (R lazy-load data)
#
# Usage:
#   scripts/get-text.sh [DIR]     unpack the packages under DIR (default: ./text);
#                                 needs apt-get but not root, and not R
#   scripts/get-text.sh --install install them system-wide with apt-get install
#                                 (root; pulls in r-base-core for janeaustenr)
set -euo pipefail

pkgs=(sword-text-web r-cran-janeaustenr)
bible_rel=usr/share/sword/modules/texts/ztext/engWEB2015eb
austen_rel=usr/lib/R/site-library/janeaustenr/data/Rdata.rdb

if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
	sed -n '2,16p' "$0"
	exit 0
fi

if [[ "${1:-}" == "--install" ]]; then
	if [[ $(id -u) -ne 0 ]]; then
		echo "get-text.sh --install: needs root (apt-get install)" >&2
		exit 1
	fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}"
	root=/
else
	root=$(realpath -m "${1:-text}")
	mkdir -p "$root/debs"
	# apt-get download needs up-to-date package lists; refresh them when we
	# may (as root), otherwise use what is there.
	if [[ $(id -u) -eq 0 ]]; then apt-get update -qq; fi
	(cd "$root/debs" && apt-get download "${pkgs[@]}")
	for deb in "$root"/debs/*.deb; do
		dpkg-deb -x "$deb" "$root"
	done
fi

bible="${root%/}/$bible_rel"
austen="${root%/}/$austen_rel"
for p in "$bible" "$austen"; do
	if [[ ! -e "$p" ]]; then
		echo "get-text.sh: expected $p after unpacking; the package layout changed" >&2
		exit 1
	fi
done
echo "World English Bible: $bible"
echo "Jane Austen:         $austen"
