"""ISO 639 language codes: the three-letter codes of languages that have a two-letter ISO 639-1 code.

BCP 47 (RFC 5646, 2.2.1) writes a language with its ISO 639-1 code where it has one, so "eng" (ISO 639-3, the
code FLORES-200 file names use) and "ger" (ISO 639-2/B) are "en" and "de". `two_letter` gives that code.
Individual languages of a macrolanguage keep their own codes ("arb", "cmn", "pes"): BCP 47 does too.

The table was generated from the ISO 639-3 code table (every code with a Part 1 equivalent, 184 of them) and
the 20 ISO 639-2/B codes of languages with a Part 1 code (Debian's iso-codes 4.15 data).
"""

from __future__ import annotations

import warnings

# three-letter code:two-letter code (ISO 639-3 = ISO 639-2/T)
_PART3 = """
aar:aa abk:ab afr:af aka:ak amh:am ara:ar arg:an asm:as ava:av ave:ae aym:ay aze:az bak:ba bam:bm bel:be
ben:bn bis:bi bod:bo bos:bs bre:br bul:bg cat:ca ces:cs cha:ch che:ce chu:cu chv:cv cor:kw cos:co cre:cr
cym:cy dan:da deu:de div:dv dzo:dz ell:el eng:en epo:eo est:et eus:eu ewe:ee fao:fo fas:fa fij:fj fin:fi
fra:fr fry:fy ful:ff gla:gd gle:ga glg:gl glv:gv grn:gn guj:gu hat:ht hau:ha hbs:sh heb:he her:hz hin:hi
hmo:ho hrv:hr hun:hu hye:hy ibo:ig ido:io iii:ii iku:iu ile:ie ina:ia ind:id ipk:ik isl:is ita:it jav:jv
jpn:ja kal:kl kan:kn kas:ks kat:ka kau:kr kaz:kk khm:km kik:ki kin:rw kir:ky kom:kv kon:kg kor:ko kua:kj
kur:ku lao:lo lat:la lav:lv lim:li lin:ln lit:lt ltz:lb lub:lu lug:lg mah:mh mal:ml mar:mr mkd:mk mlg:mg
mlt:mt mon:mn mri:mi msa:ms mya:my nau:na nav:nv nbl:nr nde:nd ndo:ng nep:ne nld:nl nno:nn nob:nb nor:no
nya:ny oci:oc oji:oj ori:or orm:om oss:os pan:pa pli:pi pol:pl por:pt pus:ps que:qu roh:rm ron:ro run:rn
rus:ru sag:sg san:sa sin:si slk:sk slv:sl sme:se smo:sm sna:sn snd:sd som:so sot:st spa:es sqi:sq srd:sc
srp:sr ssw:ss sun:su swa:sw swe:sv tah:ty tam:ta tat:tt tel:te tgk:tg tgl:tl tha:th tir:ti ton:to tsn:tn
tso:ts tuk:tk tur:tr twi:tw uig:ug ukr:uk urd:ur uzb:uz ven:ve vie:vi vol:vo wln:wa wol:wo xho:xh yid:yi
yor:yo zha:za zho:zh zul:zu
"""
# ISO 639-2/B (bibliographic) codes
_PART2B = """
alb:sq arm:hy baq:eu bur:my chi:zh cze:cs dut:nl fre:fr geo:ka ger:de gre:el ice:is mac:mk mao:mi may:ms
per:fa rum:ro slo:sk tib:bo wel:cy
"""
TWO_LETTER: dict[str, str] = dict(pair.split(":") for pair in (_PART3 + _PART2B).split())
# every ISO 639-1 code (184), and the three-letter codes above: the languages this table knows
KNOWN: frozenset[str] = frozenset(TWO_LETTER) | frozenset(TWO_LETTER.values())

_noted: set[str] = set()  # codes whose rewriting was reported


def two_letter(code: str) -> str:
    """The ISO 639-1 code of a lower-case three-letter language code that has one ("eng" -> "en", "ger" ->
    "de"), else `code`. Each code rewritten is reported once (a UserWarning), as the rewrite merges what
    might have been meant as two languages ("eng" and "en" sources are one language in sampling)."""
    two = TWO_LETTER.get(code)
    if two is None:
        return code
    if code not in _noted:
        _noted.add(code)
        warnings.warn(
            f"language {code!r} is read as {two!r}: BCP 47 writes a language with its two-letter ISO 639-1 "
            f"code where it has one, so {code!r} and {two!r} are one language (noted once)",
            UserWarning,
            stacklevel=3,
        )
    return two
