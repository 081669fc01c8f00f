"""Per-language rule tables for the spoken-form normaliser, one JSON file per language (data, not code).

`common.json` holds what is shared by every language (currency symbols, unit spellings, character
folding); `<lang>.json` holds a language's words: number readings, months, units, currencies, time and
date templates, symbols, abbreviations. See `tandem.spoken.tables` for the schema.
"""
