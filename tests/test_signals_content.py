"""Content signals on hand-written messages: phrases in six languages, adversarial spellings,
text statistics, phones and money, HTML tricks."""

import math

import pytest
from _signals_helpers import one

from pyscore.message import Body, Message, Subject


def msg(subject: str = "", text: str = "", html: str = "", html_text: str = "") -> Message:
    return Message(subject=Subject(subject), body=Body(text=text, html_raw=html, html_text=html_text))


@pytest.mark.parametrize(("text", "family"), [
    ("Please verify your account today", "credential"),
    ("Por favor, verifique sua conta", "credential"),
    ("Verifique su cuenta hoy", "credential"),
    ("Bitte bestätigen Sie Ihr Konto", "credential"),
    ("Bevestig uw account", "credential"),
    ("Veuillez vérifier votre compte", "credential"),
    ("Send the wire transfer today", "payment"),
    ("Our bank details have changed", "payment"),
    ("Buy 5 Google Play cards", "gift_card"),
    ("Your invoice is overdue", "invoice"),
    ("Fatura em atraso", "invoice"),
    ("Your parcel could not be delivered", "shipping"),
    ("You have a new voicemail", "voicemail"),
    ("Jane has shared a document with you", "document_share"),
    ("I recorded you through your webcam", "extortion"),
    ("Call our billing team to cancel", "callback"),
    ("You have won the lottery", "advance_fee"),
    ("Dear customer,", "generic_greeting"),
    ("Send me the team's W-2 forms as PDFs today", "sensitive_data"),
    ("I need the employee list with each social security number", "sensitive_data"),
    ("Envie o informe de rendimentos de todos", "sensitive_data"),
    ("Schicken Sie mir die Lohnsteuerbescheinigung", "sensitive_data"),
])
def test_phrase_families_in_each_language(text, family):
    s = one(msg(text=text))
    assert s[f"phrase_{family}_count"] >= 1
    assert s["phrase_family_count"] >= 1


def test_phrases_survive_zero_width_cyrillic_and_case():
    # Cyrillic е and о, a zero-width joiner inside "account", upper case, a line break between words
    s = one(msg(subject="VЕRIFY  YОUR\nacc\u200dount", text="x"))
    assert s["subject_phrase_credential"] == 1.0
    assert s["phrase_credential_count"] == 1.0
    assert s["subject_invisible_count"] == 1.0
    assert s["subject_confusable_word_count"] == 2.0  # VЕRIFY and YОUR mix scripts; acc‍ount does not


def test_phrase_must_start_a_word():
    assert one(msg(text="prepayment details"))["phrase_payment_count"] == 0.0  # "payment details" mid-word
    assert one(msg(text="(payment details)"))["phrase_payment_count"] == 1.0
    assert one(msg(text="xinvoice"))["phrase_invoice_count"] == 0.0
    assert one(msg(text="invoices"))["phrase_invoice_count"] == 1.0  # prefixes match inside a word's end


def test_every_occurrence_counts_and_subject_flag():
    s = one(msg(subject="Invoice", text="invoice, INVOICE and Invoice"))
    assert s["phrase_invoice_count"] == 4.0
    assert s["subject_phrase_invoice"] == 1.0
    assert s["subject_phrase_payment"] == 0.0


def test_text_statistics():
    s = one(msg(subject="HELLO world!!", text="Ab1 café \u200b\u202e x"))
    assert s["subject_length"] == 13
    assert s["subject_uppercase_ratio"] == pytest.approx(5 / 10)
    assert s["subject_exclamation_count"] == 2
    assert s["body_length"] == 13
    assert s["body_word_count"] == 3
    assert s["body_zero_width_count"] == 1
    assert s["body_invisible_count"] == 1
    assert s["body_bidi_control_count"] == 1
    assert s["body_non_ascii_ratio"] == pytest.approx(3 / 13)
    assert s["body_digit_ratio"] == pytest.approx(1 / 13)


def test_empty_texts_give_nan_ratios():
    s = one(msg())
    assert s["subject_length"] == 0
    assert math.isnan(s["subject_uppercase_ratio"])
    assert math.isnan(s["body_non_ascii_ratio"])
    assert math.isnan(s["html_text_ratio"])
    assert s["html_present"] == 0


def test_phone_numbers_and_callback():
    s = one(msg(subject="Order 1-800-555-0199", text="Call us at +1 (800) 555 0199 or 555-0100."))
    assert s["phone_number_count"] == 2  # 555-0100 has too few digits
    assert s["subject_has_phone"] == 1
    assert s["callback_with_phone"] == 1
    # digits split by zero-width characters still read as one number
    assert one(msg(text="1\u200b800\u200b555\u200b0199"))["phone_number_count"] == 1


def test_money_amounts():
    s = one(msg(text="Pay $ 1,500 or 200 EUR or €99; USD alone and US$ are not amounts; 3 btc"))
    assert s["money_amount_count"] == 4  # "$ 1", "200 eur", "€99", "3 btc"
    assert one(msg(text="busd 5"))["money_amount_count"] == 0


def test_html_tricks():
    html = ("<div style='DISPLAY : none'>hidden</div><span style=\"font-size:0px\">x</span>"
            "<form action=x><input type=\"password\"></form><script>x</script>"
            "<img src=\"data:image/png;base64,AAAA\"><meta http-equiv=\"refresh\" content=\"0;url=x\">")
    s = one(msg(html=html, html_text="hidden x"))
    for family, count in (("hidden", 1), ("tiny_font", 1), ("form", 1), ("password_input", 1), ("input", 1),
                          ("script", 1), ("base64_image", 1), ("meta_refresh", 1), ("image", 1), ("iframe", 0)):
        assert s[f"html_{family}_count"] == count, family
    assert s["html_present"] == 1
    assert s["html_length"] == len(html)
    assert s["html_text_ratio"] == pytest.approx(8 / len(html))


def test_white_text_is_not_a_white_background():
    assert one(msg(html="<td style=\"background-color: #FFFFFF\">x</td>", html_text="x"))["html_white_text_count"] == 0
    assert one(msg(html="<span style='font-weight:bold; color: #ffffff'>x</span>", html_text="x"))[
        "html_white_text_count"] == 1


def test_body_falls_back_to_rendered_html():
    s = one(msg(html="<p>Verify your account</p>", html_text="Verify your account"))
    assert s["phrase_credential_count"] == 1
    assert s["body_word_count"] == 3


def test_corpus_artefacts_are_not_phrases():
    s = one(msg(text="phishing@pot phishing pot 2023 2024"))
    assert s["phrase_family_count"] == 0


def _phrase_texts():
    """Long texts (two-stream scans start at 512 bytes) with phrases everywhere, also across the middle."""
    import random

    from pyscore.signals.lists import html_tricks, phrases

    r = random.Random(5)
    table = phrases()
    words = [p for f in table for p in table[f][:20]]
    tricks = [p for f in html_tricks() for p in html_tricks()[f]]
    texts = []
    for size in (511, 512, 700, 1500, 4000, 20000):
        parts, n = [], 0
        while n < size:
            piece = r.choice(words) if r.random() < 0.5 else r.choice(["x", "ab", "re", " ", "\n", "1", "é"])
            parts.append(piece + r.choice(["", " ", "  ", "x"]))
            n += len(parts[-1])
        texts.append("".join(parts))
        html = "".join(r.choice(tricks) + r.choice(["", " ", "\n\t ", "<p>", "X"]) for _ in range(size // 8))
        texts.append(html[:size])
    return texts


def test_two_stream_scans_count_what_one_stream_counts():
    import numpy as np

    from pyscore.signals import _kernels as k
    from pyscore.signals.content import html_automaton, phrase_automaton
    from pyscore.signals.textnorm import HTML_CAP, normalize_text

    p = list(phrase_automaton().arrays)
    p[1] = k.premultiplied(p[1])
    h = list(html_automaton().arrays)
    h[0] = k.html_byte_class(h[0])
    h[1] = k.premultiplied(h[1])
    found = np.zeros(2, np.int64)  # the texts do hold matches
    for text in _phrase_texts():
        buf = np.frombuffer(normalize_text(text), dtype=np.uint8).copy()
        one, two = np.zeros(20, np.int64), np.zeros(20, np.int64)
        k.ac_scan(buf, len(buf), *p, True, one)
        k.ac_scan2(buf, len(buf), *p, True, two, int(p[5].max()))
        assert one.tolist() == two.tolist()
        found[0] += one.sum()
        raw = np.frombuffer(text.encode(), dtype=np.uint8).copy()
        for a, b in ((0, len(raw)), (3, len(raw) - 2)):
            one, two = np.zeros(20, np.int64), np.zeros(20, np.int64)
            k.ac_scan_html(raw, a, b, HTML_CAP, h[0], h[1], h[2], h[3], h[4], h[6], one)
            k.ac_scan_html2(raw, a, b, HTML_CAP, h[0], h[1], h[2], h[3], h[4], h[6], two, int(h[5].max()))
            assert one.tolist() == two.tolist()
            found[1] += one.sum()
    assert found.min() > 100


def _number_texts(n: int = 400, seed: int = 5) -> list[bytes]:
    """Normalised-looking texts dense in digits, separators and currency markers."""
    import random

    r = random.Random(seed)
    pieces = ["1", "23", "4567", "555-0100", "(555) 010-0199", " ", "  ", ".", "-", "(", ")", "$", "£", "¥", "€",
              "₹", "usd", "eur", "gbp", "brl", "btc", "usda", "xusd", "eu", "b", "u", "e", "g", "word", "é", "\u00c2"]
    return [" ".join("".join(r.choice(pieces) for _ in range(r.randint(1, 4)))
                     for _ in range(r.randint(0, 40))).encode() for _ in range(n)]


def test_phone_and_money_pass_counts_what_the_reference_counts():
    import numpy as np

    from pyscore.signals import _kernels as k
    from pyscore.signals import reference

    totals = np.zeros(2, np.int64)
    for text in _number_texts():
        buf = np.frombuffer(text + b"\0" * 8, dtype=np.uint8).copy()
        phones, money = k.count_phones_money(buf, len(text))
        assert (phones, money) == (reference.count_phones(text), reference.count_money(text)), text
        totals += (phones, money)
    assert totals.min() > 100  # the texts do hold both


def test_normalize_into_matches_the_reference_on_ascii_and_mixed_texts():
    """normalize_into takes a separate path for all-ASCII texts; both give textnorm's normal
    form and the reference's statistics."""
    import random

    import numpy as np

    from pyscore.signals import _kernels as k
    from pyscore.signals import reference
    from pyscore.signals.lists import char_tables
    from pyscore.signals.textnorm import TEXT_CAP, normalize_text

    fold, flags = char_tables()
    acls, aout = k.ascii_tables(fold, flags)
    r = random.Random(9)
    pieces = ["Hello", "WORLD", "x1", "42", "!", "  ", "\t\n", "\x1c", ".", "é", "Vеrify", "a\u200bb", "\u202e",
              "ＡＢ", "ß", "Ω", "\u00ad"]
    texts = ["", " ", "!!", "Plain ASCII text, with 3 numbers: 1 22 333!"]
    texts += ["".join(r.choice(pieces) + r.choice(["", " "]) for _ in range(r.randint(1, 30))) for _ in range(300)]
    texts += ["".join(r.choice(pieces[:9]) + " " for _ in range(r.randint(1, 30))) for _ in range(100)]
    names = ("cp", "alpha", "upper", "nonascii", "zw", "invis", "bidi", "digit", "excl", "words", "mixed")
    for text in texts:
        raw = np.frombuffer(text.encode(), dtype=np.uint8).copy()
        buf = np.empty(2 * max(len(raw), 1) + 16, dtype=np.uint8)
        stats = np.zeros(k.N_STATS, dtype=np.int64)
        n = k.normalize_into(raw, 0, len(raw), TEXT_CAP, fold, flags, acls, aout, buf, stats)
        assert buf[:n].tobytes() == normalize_text(text), text
        assert dict(zip(names, stats.tolist(), strict=True)) == reference.text_stats(text), text
