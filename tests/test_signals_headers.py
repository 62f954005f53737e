"""Header signals on hand-written headers: authentication, mismatches, dates, mailers, bulk, threads."""

import datetime as dt
import math

from _signals_helpers import mailbox, one

from pyscore.message import (
    AuthCheck,
    AuthSummary,
    Headers,
    Hop,
    ListHeaders,
    Message,
    Recipients,
    Subject,
)

T0 = dt.datetime(2020, 6, 1, 12, 0, tzinfo=dt.UTC)


def of(address="ceo@acme.com", name="", subject="", recipients=None, **headers) -> dict[str, float]:
    frm = mailbox(address, name)
    return one(Message(sender=frm, headers=Headers(from_=frm, **headers), subject=Subject(subject),
                       recipients=recipients or Recipients()))


def test_authentication_results():
    s = of(auth_summary=AuthSummary(spf=AuthCheck("softfail", "bounce.acme.com"), dkim=AuthCheck("pass", "other.com"),
                                    dmarc=AuthCheck("fail", "acme.com")))
    assert (s["auth_spf_pass"], s["auth_spf_fail"]) == (0, 1)
    assert (s["auth_dkim_pass"], s["auth_dkim_fail"]) == (1, 0)
    assert (s["auth_dmarc_pass"], s["auth_dmarc_fail"]) == (0, 1)
    assert s["auth_spf_aligned"] == 1 and s["auth_dkim_aligned"] == 0
    missing = of()
    assert all(math.isnan(missing[k]) for k in ("auth_spf_pass", "auth_dkim_fail", "auth_dmarc_pass",
                                                 "auth_spf_aligned"))


def test_address_mismatches():
    s = of(reply_to=(mailbox("boss@gmail.com"),), return_path=mailbox("b@mailer.net").email,
           sender=mailbox("other@acme.com"))
    assert s["reply_to_count"] == 1
    assert s["reply_to_domain_mismatch"] == 1
    assert s["return_path_domain_mismatch"] == 1
    assert s["sender_header_mismatch"] == 1
    same = of(reply_to=(mailbox("x@sub.acme.com"),), return_path=mailbox("b@acme.com").email)
    assert same["reply_to_domain_mismatch"] == 0 and same["return_path_domain_mismatch"] == 0
    assert math.isnan(same["sender_header_mismatch"])


def test_display_name_with_address_or_domain():
    s = of(name="support@paypal.com")
    assert (s["display_name_has_address"], s["display_name_has_domain"], s["display_name_domain_mismatch"]) == (1, 1, 1)
    own = of(name="Acme.com Billing")
    assert (own["display_name_has_address"], own["display_name_has_domain"], own["display_name_domain_mismatch"]) \
        == (0, 1, 0)
    plain = of(name="J.R. Smith")
    assert plain["display_name_has_domain"] == 0 and math.isnan(plain["display_name_domain_mismatch"])


def test_message_id():
    assert of(message_id="<1.2@mail.acme.com>")["message_id_domain_mismatch"] == 0
    assert of(message_id="<1.2@smtp.evil.net>")["message_id_domain_mismatch"] == 1
    s = of(message_id="")
    assert s["message_id_missing"] == 1 and math.isnan(s["message_id_domain_mismatch"])


def test_dates_and_hops_are_relative():
    hops = (Hop(0, time=T0), Hop(1, time=T0 - dt.timedelta(minutes=30)))
    s = of(date=T0 + dt.timedelta(hours=3), date_raw="Mon, 1 Jun 2020 15:00:00 +0000", hops=hops)
    assert s["date_received_skew_hours"] == -3
    assert s["date_after_received"] == 1
    assert s["hop_count"] == 2 and s["hop_time_span_hours"] == 0.5
    assert (s["date_missing"], s["date_unparseable"], s["date_tz_missing"]) == (0, 0, 0)
    odd = of(date_raw="yesterday")
    assert (odd["date_missing"], odd["date_unparseable"], odd["date_tz_missing"]) == (0, 1, 1)
    assert of()["date_missing"] == 1
    # the same message ten years later has the same signals
    later = of(date=T0 + dt.timedelta(days=3653, hours=3), date_raw="Thu, 1 Jun 2030 15:00:00 +0000",
               hops=tuple(Hop(h.index, time=h.time + dt.timedelta(days=3653)) for h in hops))
    assert later.keys() == s.keys()
    assert all(later[k] == s[k] or (math.isnan(later[k]) and math.isnan(s[k])) for k in s)


def test_mailer_families():
    assert of(mailer="Microsoft Outlook 16.0")["mailer_outlook"] == 1
    assert of(mailer="PHPMailer 6.5.0 (https://github.com/PHPMailer/PHPMailer)")["mailer_php"] == 1
    s = of(mailer="SuperMailer 3")
    assert s["mailer_other"] == 1 and s["mailer_present"] == 1
    assert of(mailer="myphp")["mailer_php"] == 0  # a token must begin a word


def test_bulk_list_priority_php():
    s = of(list=ListHeaders(id="<l.example>", unsubscribe="<mailto:u@x>", post="<mailto:l@x>", precedence=" Bulk"),
           fields=(("feedback-id", "1"), ("x-campaign", "x"), ("x-priority", " 1 (Highest)"),
                   ("x-php-originating-script", "1:x.php")))
    assert (s["list_id_present"], s["list_unsubscribe_present"], s["list_post_present"], s["precedence_bulk"]) \
        == (1, 1, 1, 1)
    assert s["bulk_header_count"] == 2 and s["priority_high"] == 1 and s["php_script_header"] == 1
    assert of(fields=(("importance", "High"),))["priority_high"] == 1
    assert of(fields=(("x-priority", "3"),))["priority_high"] == 0


def test_threads_and_recipients():
    s = of(subject="RE: invoice", recipients=Recipients(to=(mailbox("ceo@acme.com"), mailbox("b@x.com"))))
    assert (s["subject_reply_prefix"], s["reply_without_thread"], s["in_reply_to_present"]) == (1, 1, 0)
    assert s["to_count"] == 2 and s["sender_in_recipients"] == 1
    t = of(subject="AW: Angebot", in_reply_to="<a@b>", references=("<a@b>",))
    assert (t["subject_reply_prefix"], t["reply_without_thread"], t["references_count"]) == (1, 0, 1)
    assert of(subject="Fwd: x")["subject_forward_prefix"] == 1
    assert of(subject="Regarding: x")["subject_reply_prefix"] == 0
    assert of()["recipients_missing"] == 1


def test_reply_to_that_is_a_recipient_is_a_list_answering_to_itself():
    to_list = Recipients(to=(mailbox("Dev-List@lists.project.org"),), cc=(mailbox("a@b.org"),))
    listed = of(address="pat@univ.edu", reply_to=(mailbox("dev-list@lists.project.org"),), recipients=to_list)
    assert listed["reply_to_is_recipient"] == 1  # addresses compare case-insensitively
    cc_list = Recipients(to=(mailbox("x@y.org"),), cc=(mailbox("team@lists.project.org"),))
    assert of(reply_to=(mailbox("team@lists.project.org"),), recipients=cc_list)["reply_to_is_recipient"] == 1
    bec = of(address="ceo@acme-corp.co", reply_to=(mailbox("ceo.private@gmail.com"),),
             recipients=Recipients(to=(mailbox("ap@acme.com"),)))
    assert bec["reply_to_is_recipient"] == 0
    assert math.isnan(of(recipients=to_list)["reply_to_is_recipient"])
