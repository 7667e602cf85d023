"""The planner: calibration (``calibration``, ``probes``), the cost model (``model``), the
decisions it makes (``decision``), what it learns from measured runs (``history``), and the
placement of a whole program's statements (``program``)."""
