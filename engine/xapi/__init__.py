"""xAPI 1.0.3 (and 2.0.0 where the two agree) as an LRS sees it: statement validation
(:mod:`engine.xapi.validate`), the spec's comparison rules (:mod:`engine.xapi.compare`),
statement queries and ``more`` cursors (:mod:`engine.xapi.query`). Pure rules, no I/O; the
mapping of statements to evidence is :mod:`engine.app.xapi`."""
