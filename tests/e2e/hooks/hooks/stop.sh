#!/bin/sh
echo "guest $MEROS_EVENT"
