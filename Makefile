# sse-serve: build, install, test.
#
#   make                      release build, Swift runtime linked in (no libswift*.so needed)
#   make install              into PREFIX (/usr/local); DESTDIR is honoured for packaging
#   make install PREFIX=$HOME/.local
#   make uninstall
#   make test                 swift test
#
# SKIP_BUILD=1 BIN_SRC=DIR installs the binaries already in DIR instead of
# building (the tests install the debug build this way).

PREFIX   ?= /usr/local
DESTDIR  ?=
SWIFT    ?= swift
BINDIR    = $(DESTDIR)$(PREFIX)/bin
SHAREDIR  = $(DESTDIR)$(PREFIX)/share/sse-serve
MANDIR    = $(DESTDIR)$(PREFIX)/share/man/man1
# Evaluated only when used, so that BIN_SRC=... skips asking swift.
BIN_SRC  ?= $(shell $(SWIFT) build -c release --show-bin-path)
# Symbols are stripped from a release build; a binary given with SKIP_BUILD is copied as it is.
STRIP     = $(if $(SKIP_BUILD),,-s)
# sse-cat is installed once the package has it.
HAS_CAT   = $(shell grep -q '"sse-cat"' Package.swift && echo yes)

.PHONY: all build check-static install install-files uninstall test

all: build

build:
	$(SWIFT) build -c release --static-swift-stdlib --product sse-serve
	$(if $(HAS_CAT),$(SWIFT) build -c release --static-swift-stdlib --product sse-cat)
	@$(MAKE) --no-print-directory check-static BIN_SRC="$(BIN_SRC)"

# The binaries must run where no Swift toolchain is installed.
check-static:
	@for b in sse-serve sse-cat; do \
	  [ -f "$(BIN_SRC)/$$b" ] || continue; \
	  if ldd "$(BIN_SRC)/$$b" | grep -q 'libswift\|libFoundation\|libdispatch'; then \
	    echo "$$b links the Swift runtime dynamically:"; ldd "$(BIN_SRC)/$$b"; exit 1; \
	  fi; \
	  echo "$$b: no Swift runtime libraries needed"; \
	done

install: $(if $(SKIP_BUILD),,build)
	@$(MAKE) --no-print-directory install-files BIN_SRC="$(BIN_SRC)" SKIP_BUILD="$(SKIP_BUILD)"

install-files:
	install -d "$(BINDIR)" "$(SHAREDIR)/public" "$(SHAREDIR)/feeds" "$(MANDIR)"
	install -m 755 $(STRIP) "$(BIN_SRC)/sse-serve" "$(BINDIR)/sse-serve"
	if [ -f "$(BIN_SRC)/sse-cat" ]; then install -m 755 $(STRIP) "$(BIN_SRC)/sse-cat" "$(BINDIR)/sse-cat"; fi
	install -m 644 public/* "$(SHAREDIR)/public/"
	install -m 644 feeds/*.json feeds/README.md "$(SHAREDIR)/feeds/"
	install -m 644 docs/sse-serve.1 "$(MANDIR)/sse-serve.1"

uninstall:
	rm -f "$(BINDIR)/sse-serve" "$(BINDIR)/sse-cat" "$(MANDIR)/sse-serve.1"
	rm -rf "$(SHAREDIR)"

test:
	$(SWIFT) test
