#!/bin/sh
exec python3 -m exchange_api "$@"
