"""The one fold of a record stream into the dump's state, with the checks it runs on each record.

It stands above the codec (it reads records and, for the text dump's lines,
the text codec) and below every analysis."""
