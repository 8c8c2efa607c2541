#!/bin/sh
echo "$MEROS_EVENT" > "$MEROS_ARTIFACTS/on-failure.txt"
