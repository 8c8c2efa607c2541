#!/bin/sh
echo "seeding the database"
echo "seed failed: no database at $MEROS_VM_VM_MGMT" >&2
exit 4
