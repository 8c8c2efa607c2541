#!/bin/sh
echo "$MEROS_EVENT $MEROS_SCENARIO" > "$MEROS_ARTIFACTS/before-down.txt"
