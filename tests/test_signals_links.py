"""Link signals on hand-written links: hosts, lists, redirectors, display-text tricks, schemes."""

import math

from _signals_helpers import link, mailbox, one

from pyscore.message import Message


def links_of(*links, sender: str = "a@example.com") -> dict[str, float]:
    return one(Message(sender=mailbox(sender), links=tuple(links)))


def test_counts_and_distinct_domains():
    s = links_of(link("https://a.example.com/x"), link("https://b.example.com/"), link("https://other.org/"),
                 link("http://a.example.com/y", source="text"))
    assert s["link_count"] == 4
    assert s["link_html_count"] == 3
    assert s["link_distinct_host_count"] == 3
    assert s["link_distinct_root_domain_count"] == 2
    assert s["link_http_count"] == 1
    assert s["link_sender_domain_ratio"] == 0.75
    assert s["link_max_subdomain_depth"] == 1


def test_no_links():
    s = links_of()
    assert s["link_count"] == 0
    assert math.isnan(s["link_max_subdomain_depth"])
    assert math.isnan(s["link_sender_domain_ratio"])


def test_host_tricks():
    s = links_of(link("http://192.168.10.1/login"), link("http://3232235777/"), link("http://0x7f.0.0.1/"),
                 link("https://xn--pypal-4ve.com/"), link("https://p\u0430ypal.com/"),
                 link("https://user@evil.example.com/"), link("https://example.com:8443/"),
                 link("https://example.com:443/"))
    assert s["link_ip_host_count"] == 1
    assert s["link_obfuscated_count"] == 2  # decimal and hex hosts
    assert s["link_punycode_count"] == 2  # xn-- and the Cyrillic host (IDN)
    assert s["link_confusable_host_count"] == 2  # xn--pypal-4ve is p\u0430ypal too
    assert s["link_at_in_authority_count"] == 1
    assert s["link_nonstandard_port_count"] == 1
    assert s["link_login_path_count"] == 1


def test_lists():
    s = links_of(link("https://bit.ly/abc"), link("https://x.bit.ly/abc"), link("https://notbit.ly/"),
                 link("https://mysite.weebly.com/"), link("https://www.dropbox.com/s/x"), link("https://a.tk/"),
                 link("https://shop.example.xyz/"))
    assert s["link_shortener_count"] == 2
    assert s["link_free_hosting_count"] == 1
    assert s["link_file_sharing_count"] == 1
    assert s["link_suspicious_tld_count"] == 2


def test_redirects_downloads_and_long_urls():
    s = links_of(link("https://t.example.com/track?url=https%3A%2F%2Fevil.com"), link("https://example.com/redirect/x"),
                 link("https://example.com/files/Invoice.EXE"), link("https://example.com/doc.iso?x=1"),
                 link("https://example.com/page.html"), link("https://example.com/" + "a" * 300))
    assert s["link_open_redirect_count"] == 2
    assert s["link_download_count"] == 2
    assert s["link_long_url_count"] == 1
    assert s["link_max_url_length"] == len("https://example.com/") + 300


def test_display_text_naming_another_domain():
    s = links_of(link("https://evil.example.net/", "https://www.paypal.com/signin"),
                 link("https://www.paypal.com/x", "paypal.com"),
                 link("https://example.com/", "Click here"),
                 link("https://example.com/", "Mr.Smith"))  # "smith" is no TLD
    assert s["link_display_domain_count"] == 2
    assert s["link_display_domain_mismatch_count"] == 1


def test_brand_in_host():
    s = links_of(link("https://paypal.com.secure-login.xyz/"), link("https://www.paypal.com/"),
                 link("https://microsoft-update.example.org/"))
    assert s["link_brand_in_host_count"] == 2


def test_schemes():
    s = links_of(link("data:text/html,<script>"), link("javascript:alert(1)"), link("mailto:a@b.com"),
                 link("tel:+18005550199"), link("sms:+1800"))
    assert (s["link_data_url_count"], s["link_javascript_url_count"], s["link_mailto_count"], s["link_tel_count"]) \
        == (1, 1, 1, 2)
    assert s["link_distinct_host_count"] == 0


def test_tenant_extra_lists():
    configs = {"t": {"extra_lists": {"shorteners": ["go.example.com"]}}}
    s = one(Message(links=(link("https://go.example.com/x"),)), "t", configs)
    assert s["link_shortener_count"] == 1
    assert one(Message(links=(link("https://go.example.com/x"),)))["link_shortener_count"] == 0
