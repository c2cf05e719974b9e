"""Local fake providers: real HTTP servers on 127.0.0.1 speaking each provider's contract.

See :mod:`ubltr.transport.fake.server` for the framework and docs/transport.md for use.
"""

from .server import (AMBIGUOUS, FAULT_KINDS, FakeContext, FakeRequest, FakeResponse, FakeServer, FaultPlan,
                     Finding, Handler, Ledger, Verdict, basic_validator, default_validator, with_identity)

__all__ = ["AMBIGUOUS", "FAULT_KINDS", "FakeContext", "FakeRequest", "FakeResponse", "FakeServer", "FaultPlan",
           "Finding", "Handler", "Ledger", "Verdict", "basic_validator", "default_validator", "with_identity"]
