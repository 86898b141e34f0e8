"""`python -m devkit.warmfork`: the warm parent process (parent.ForkServer)."""

import errno
import sys

from devkit.warmfork.parent import main

try:
    sys.exit(main())
except KeyboardInterrupt:
    sys.exit(130)
except OSError as exc:
    if exc.errno == errno.EBADF:
        print(
            "devkit.warmfork: the control fd is not open (started by devkit only)", file=sys.stderr
        )
        sys.exit(2)
    raise
