"""tandem.spoken, Arabic: dates, clock times, clitics on digits and more governing words.

The expected strings follow common Modern Standard Arabic usage as a careful grammarian would read the
written forms (not checked by a native speaker): the day of a date is an ordinal with "من" before the
month ("15 مارس" -> "الخامس عشر من مارس"), genitive after a preposition ("في العشرين من مارس"); the year
of a date is genitive (in construct with an implied عام/سنة); a clock time says the quarter, third and
half as words ("الثالثة و النصف"), the hour genitive after a preposition with الساعة; ب/ل/ك and the article
written on digits are joined to the number word; حتى, حوالى, بحلول ... govern the genitive.
"""

from __future__ import annotations

import pytest

from tandem.spoken import to_spoken


@pytest.mark.parametrize(
    "text,want",
    [
        # a clitic preposition on the dual عامي/سنتي: both numbers genitive
        ("لعامي 2000 و 2001", "لعامي ألفين و ألفين و واحد"),
        ("بعامي 2000 و 2001", "بعامي ألفين و ألفين و واحد"),
        ("في عامي 2000 و 2001", "في عامي ألفين و ألفين و واحد"),
        # dates: ordinal day, "من", genitive year, the month as written (Levantine names too)
        ("15 مارس 2020", "الخامس عشر من مارس ألفين و عشرين"),
        ("في 3 يناير", "في الثالث من يناير"),
        ("في 20 مارس", "في العشرين من مارس"),
        ("20 مارس", "العشرون من مارس"),
        ("2020-05-01", "الأول من مايو ألفين و عشرين"),
        ("في 21 من كانون الثاني", "في الحادي و العشرين من كانون الثاني"),
        ("في 15 آب 1940", "في الخامس عشر من آب ألف و تسعمائة و أربعين"),
        ("يوم 16 نوفمبر", "يوم السادس عشر من نوفمبر"),
        ("3-20 مارس", "الثالث إلى العشرين من مارس"),
        ("في مارس 2020", "في مارس ألفين و عشرين"),
        # clock times
        ("الساعة 3:30", "الساعة الثالثة و النصف"),
        ("الساعة 3:15", "الساعة الثالثة و الربع"),
        ("الساعة 3:20", "الساعة الثالثة و الثلث"),
        ("الساعة 10 صباحا", "الساعة العاشرة صباحا"),
        ("بحلول الساعة 11:35 مساء", "بحلول الساعة الحادية عشرة و خمس و ثلاثين دقيقة مساء"),
        ("في الساعة 22:00", "في الساعة الثانية و العشرين"),
        ("في الساعة 3:02", "في الساعة الثالثة و دقيقتين"),
        ("الساعة 10:15:05", "الساعة العاشرة و خمس عشرة دقيقة و خمس ثوان"),  # with seconds: minutes
        # clitics and the article written on digits
        ("بـ5 دولارات", "بخمسة دولارات"),
        ("ب 5 دولارات", "بخمسة دولارات"),
        ("علم بـ 27 حادثة", "علم بسبع و عشرين حادثة"),
        ("دامت ل15 مباراة", "دامت لخمس عشرة مباراة"),
        ("بين ال78 توصية", "بين الثماني و السبعين توصية"),
        ("لل20", "للعشرين"),
        ("بالـ20", "بالعشرين"),
        ("ب2 ساعة", "بساعتين"),
        ("أبطأ بـ 2:11.60 دقيقة", "أبطأ بدقيقتين و أحد عشر فاصلة ستة صفر ثانية"),
        # more governing words, with ب/ل on them, and nouns in construct with the number
        ("حتى 2000", "حتى ألفين"),
        ("حوالى 50", "حوالى خمسين"),
        ("بحوالي 30", "بحوالي ثلاثين"),
        ("من إجمالي 330000 شخص", "من إجمالي ثلاثمائة و ثلاثين ألف شخص"),
        ("بارتفاع 491 ميلاً", "بارتفاع أربعمائة و واحد و تسعين ميلاً"),
        ("لمسافة 80 كيلومتراً", "لمسافة ثمانين كيلومتراً"),
        # dashes written as brackets around a number: no minus sign
        ("بالاسوبرامانيان -29 عاماً- في", "بالاسوبرامانيان تسعة و عشرون عاماً في"),
        ("درجة الحرارة -5 درجات", "درجة الحرارة سالب خمس درجات"),
    ],
)
def test_arabic_dates_times_and_clitics(text: str, want: str) -> None:
    assert to_spoken(text, "ar") == want
