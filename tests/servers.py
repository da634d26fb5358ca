"""Real HTTP servers on 127.0.0.1 for the tests: the offline snapshot and small purpose-built sites."""
