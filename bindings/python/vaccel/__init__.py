# SPDX-License-Identifier: Apache-2.0
"""vAccel for Python: sessions, resources and every op of the vAccel C API.

The runtime (libvaccel) is initialized when this package is imported, from
the environment (VACCEL_PLUGINS, VACCEL_LOG_LEVEL, ...); vaccel.cleanup() and
vaccel.bootstrap(...) restart it with other settings. See docs/python.md.

    import numpy as np
    import vaccel

    with vaccel.Session() as s:
        s.noop()
        tag, _ = s.classify(open("example.jpg", "rb").read())
        out = np.zeros((), dtype=np.int32)
        s.exec("libmytestlib.so", "mytestfunc",
               [np.array(21, dtype=np.int32)], [out])   # out == 42

Failures raise vaccel.VaccelError (.code, .name, .message).
"""

from ._vaccel import *  # noqa: F401,F403  (the extension's public names)
from ._vaccel import VaccelError, __version__  # noqa: F401
