#!/bin/sh
echo "$MEROS_EVENT $MEROS_VM" > /tmp/booted
