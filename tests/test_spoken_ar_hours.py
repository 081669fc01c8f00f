"""tandem.spoken, Arabic: whole hours after الساعة, "إلا ربعا", era marks, more counted nouns, case after verbs.

The expected strings follow common Modern Standard Arabic usage (not checked by a native speaker):
- an hour alone after الساعة is a feminine ordinal like the hour of h:mm, on the 24-hour clock as h:mm is
  read ("الساعة 20" *الساعة العشرون*, genitive after a preposition: "في الساعة العشرين");
- a quarter and a third to the hour are said as the next hour less a part ("3:45" *الرابعة إلا ربعا*,
  "3:40" *الرابعة إلا ثلثا*), as :15, :20 and :30 are said as parts ("و الربع", "و الثلث", "و النصف");
- "م" after a year (after عام/سنة/منذ, a month name, or a 4-digit year that is no multiple of 100) is
  ميلادي, "هـ" هجري, "ق.م" قبل الميلاد, the adjective feminine after سنة; elsewhere "م" is the metre;
- 3-10 take the opposite gender of the counted noun, 1-2 and 11-19 agree (بوصة, حادثة, كرة, جولة, توصية ...
  are feminine);
- after a verb of a small closed list whose number is its object or measure (تلقى، بلغ، تجاوز، يقارب،
  يعادل، تبعد، استغرق، دفع، أنفق ...) the number is accusative (the tens and duals end in -ين, as in the genitive).
"""

from __future__ import annotations

import pytest

from tandem.spoken import to_spoken


@pytest.mark.parametrize(
    "text,want",
    [
        # an hour alone after الساعة
        ("الساعة 8", "الساعة الثامنة"),
        ("الساعة 20", "الساعة العشرون"),
        ("في الساعة 20", "في الساعة العشرين"),
        ("حتى الساعة 21.", "حتى الساعة الحادية و العشرين"),
        ("الساعة 9-11", "الساعة التاسعة إلى الحادية عشرة"),
        ("من الساعة 20-22", "من الساعة العشرين إلى الثانية و العشرين"),
        ("الساعة 25", "الساعة خمسة و عشرون"),  # no hour: a number
        # ranges: each side in its case, the second after the range word
        ("من الساعة 9 إلى الساعة 5", "من الساعة التاسعة إلى الساعة الخامسة"),
        ("من الساعة 20 إلى الساعة 22", "من الساعة العشرين إلى الساعة الثانية و العشرين"),
        ("بين الساعة 20:00 إلى 22:00", "بين الساعة العشرين إلى الثانية و العشرين"),
        ("من الساعة 20:00-22:00", "من الساعة العشرين إلى الثانية و العشرين"),
        ("الساعة 20:00-22:00", "الساعة العشرون إلى الثانية و العشرين"),
        # a quarter and a third to the next hour
        ("الساعة 3:45", "الساعة الرابعة إلا ربعا"),
        ("الساعة 3:40", "الساعة الرابعة إلا ثلثا"),
        ("في الساعة 19:45", "في الساعة العشرين إلا ربعا"),
        ("الساعة 12:45 مساء", "الساعة الواحدة إلا ربعا مساء"),
        ("الساعة 3:45:10", "الساعة الثالثة و خمس و أربعون دقيقة و عشر ثوان"),  # with seconds: minutes
    ],
)
def test_arabic_hours(text: str, want: str) -> None:
    assert to_spoken(text, "ar") == want


@pytest.mark.parametrize(
    "text,want",
    [
        ("عام 1990م", "عام ألف و تسعمائة و تسعين ميلادي"),
        ("عام 1990 م.", "عام ألف و تسعمائة و تسعين ميلادي"),
        ("في 1453م", "في ألف و أربعمائة و ثلاثة و خمسين ميلادي"),
        ("سنة 622 م", "سنة ستمائة و اثنين و عشرين ميلادية"),
        ("عام 1441هـ", "عام ألف و أربعمائة و واحد و أربعين هجري"),
        ("سنة 1441 هـ", "سنة ألف و أربعمائة و واحد و أربعين هجرية"),
        ("15 مارس 1990م", "الخامس عشر من مارس ألف و تسعمائة و تسعين ميلادي"),
        ("عام 500 ق.م", "عام خمسمائة قبل الميلاد"),
        # the metre: no year before it
        ("100 م", "مائة متر"),
        ("يسبح 100 م و 200 م أسلوب حر", "يسبح مائة متر و مئتا متر أسلوب حر"),
        ("1500 م", "ألف و خمسمائة متر"),
        ("10م", "عشرة أمتار"),
        ("في 2 م", "في مترين"),
    ],
)
def test_arabic_era_marks_and_metres(text: str, want: str) -> None:
    assert to_spoken(text, "ar") == want


@pytest.mark.parametrize(
    "text,want",
    [
        ("27 بوصة", "سبع و عشرون بوصة"),
        ("6 بوصات", "ست بوصات"),
        ("علم بـ 27 حادثة", "علم بسبع و عشرين حادثة"),
        ("في 41 كرة", "في إحدى و أربعين كرة"),
        ("36 جولة", "ست و ثلاثون جولة"),
        ("بين ال78 توصية", "بين الثماني و السبعين توصية"),
        ("10 ضحايا", "عشر ضحايا"),
        ("5,539 مجموعة", "خمسة آلاف و خمسمائة و تسع و ثلاثون مجموعة"),
        ("2 جولة", "جولتان"),
        ("1 توصية", "توصية واحدة"),
    ],
)
def test_arabic_feminine_counted_nouns(text: str, want: str) -> None:
    assert to_spoken(text, "ar") == want


@pytest.mark.parametrize(
    "text,want",
    [
        # the article written on the digits goes on each part of the number, whatever the unit's forms
        ("الـ35 GB", "الخمسة و الثلاثون غيغابايت"),
        ("الـ35%", "الخمسة و الثلاثون بالمئة"),
        ("بالـ35%", "بالخمسة و الثلاثين بالمئة"),
        ("الـ35 مم", "الخمسة و الثلاثون مليمترا"),
    ],
)
def test_arabic_article_on_every_part(text: str, want: str) -> None:
    assert to_spoken(text, "ar") == want


@pytest.mark.parametrize(
    "text,want",
    [
        ("تلقى 26 ترشيحاً", "تلقى ستة و عشرين ترشيحاً"),
        ("بلغ 30؛ ولكن", "بلغ ثلاثين ولكن"),
        ("تبعد 50 كيلومتراً", "تبعد خمسين كيلومتراً"),
        ("يقارب 25 إلى 30 سنة", "يقارب خمس و عشرين إلى ثلاثين سنة"),
        ("لتبلغ 2000 دولار", "لتبلغ ألفي دولار"),
        ("يزن 2 كغ", "يزن كيلوغرامين"),
        ("دفع 20 دولارا", "دفع عشرين دولارا"),
        ("دفع 25 دولارا", "دفع خمسة و عشرين دولارا"),
        ("وأنفقت 30 دولارا", "وأنفقت ثلاثين دولارا"),
        # the tanween alif of the counted noun of 11-99 is no sign of the number's case (its tamyiz is always
        # accusative: *جاء عشرون رجلا*): nominative where no verb or preposition governs the number
        ("25 دولارا", "خمسة و عشرون دولارا"),
        ("لديه 20 دولارا", "لديه عشرون دولارا"),
        # verbs whose number may be their subject (a passive reads the same unvowelled): nominative
        ("قتل 20 شخصا", "قتل عشرون شخصا"),
        ("وصل 20 شخصا", "وصل عشرون شخصا"),
    ],
)
def test_arabic_accusative_after_verbs(text: str, want: str) -> None:
    assert to_spoken(text, "ar") == want
