#!/usr/bin/env bash
# Build the pinned MinIO and Weaviate servers with `go install`, and resolve the pinned ElasticMQ (an
# SQS-compatible server) with Maven, into a cache outside the repo.
# A build already made for the same pin is reused; a new pin builds into a new directory.
# Usage: infra/install-services.sh [minio] [weaviate] [elasticmq]   (default: all three)
# Prints nothing but progress on stderr; the binaries end up in $RAGKEEPER_SERVICES_DIR/<name>-<version>/
# (ElasticMQ: a lib/ folder of jars, run with `java -cp 'lib/*' org.elasticmq.server.Main`).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=infra/versions.env
source "$here/versions.env"

cache="${RAGKEEPER_SERVICES_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ragkeeper/services}"

build() {
  local name="$1" module="$2" version="$3" binary="$4"
  local dest="$cache/$name-$version"
  if [[ -x "$dest/$binary" ]]; then
    echo "$name $version: cached at $dest/$binary" >&2
    return 0
  fi
  command -v go >/dev/null || { echo "error: Go is needed to build $name (https://go.dev/dl/)" >&2; exit 1; }
  echo "$name $version: building with go install (first time only, takes minutes)..." >&2
  local start=$SECONDS tmp="$dest.partial.$$"
  mkdir -p "$tmp"
  CGO_ENABLED=0 GOBIN="$tmp" GOFLAGS="-buildvcs=false" go install "$module@$version"
  mv "$tmp/$binary" "$tmp/$binary.tmp" && mkdir -p "$dest" && mv "$tmp/$binary.tmp" "$dest/$binary"
  rm -rf "$tmp"
  echo "$name $version: built in $((SECONDS - start))s -> $dest/$binary" >&2
}

# ElasticMQ: Maven copies the server and its dependencies into lib/; the cached folder is the classpath.
fetch_elasticmq() {
  local version="$ELASTICMQ_VERSION" dest="$cache/elasticmq-$ELASTICMQ_VERSION"
  if [[ -f "$dest/lib/elasticmq-server_2.13-$version.jar" ]]; then
    echo "elasticmq $version: cached at $dest/lib" >&2
    return 0
  fi
  command -v mvn >/dev/null || { echo "error: Maven is needed to fetch ElasticMQ (apt-get install maven)" >&2; exit 1; }
  command -v java >/dev/null || { echo "error: Java 17+ is needed to run ElasticMQ (apt-get install openjdk-17-jre-headless)" >&2; exit 1; }
  echo "elasticmq $version: resolving its jars with Maven (first time only)..." >&2
  local start=$SECONDS tmp="$dest.partial.$$"
  mkdir -p "$tmp"
  mvn --batch-mode --quiet -Dstyle.color=never -f "$here/elasticmq/pom.xml" -Delasticmq.version="$version" \
    dependency:copy-dependencies -DoutputDirectory="$tmp/lib" -DincludeScope=runtime >"$tmp/maven.log" 2>&1 \
    || { cat "$tmp/maven.log" >&2; exit 1; }
  rm -f "$tmp/maven.log"
  rm -rf "$dest" && mv "$tmp" "$dest"
  echo "elasticmq $version: $(ls "$dest/lib" | wc -l) jars in $((SECONDS - start))s -> $dest/lib" >&2
}

# weaviate-client's Embedded mode runs `weaviate-<tag>-<sha256 of tag>` from its binary_path when
# present instead of downloading a release: link our build there under that name.
link_embedded() {
  local tag="$WEAVIATE_VERSION" dir="${RAGKEEPER_WEAVIATE__EMBEDDED_BINARY_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ragkeeper/weaviate-embedded}"
  local name="weaviate-$tag-$(printf '%s' "$tag" | sha256sum | cut -d' ' -f1)"
  mkdir -p "$dir"
  ln -sfn "$cache/weaviate-$tag/weaviate-server" "$dir/$name"
}

targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(minio weaviate elasticmq)
for target in "${targets[@]}"; do
  case "$target" in
    minio) build minio github.com/minio/minio "$MINIO_VERSION" minio ;;
    weaviate)
      build weaviate github.com/weaviate/weaviate/cmd/weaviate-server "$WEAVIATE_VERSION" weaviate-server
      link_embedded
      ;;
    elasticmq) fetch_elasticmq ;;
    *) echo "error: unknown service '$target' (expected minio, weaviate or elasticmq)" >&2; exit 2 ;;
  esac
done
