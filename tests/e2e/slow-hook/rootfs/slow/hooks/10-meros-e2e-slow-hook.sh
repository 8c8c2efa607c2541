#!/bin/sh
# Never ends: the e2e test interrupts the build while this runs.
sleep 6001 &
sleep 6002
