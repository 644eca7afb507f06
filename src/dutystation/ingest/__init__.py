"""Reading user files into canonical Arrow batches: formats, encodings, dialects, mapping
profiles, row validation and quarantine. No database or event-store writes happen here."""
