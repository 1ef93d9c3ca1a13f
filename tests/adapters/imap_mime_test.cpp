// imap-email's pure parts: the IMAP response reader, MIME decoding, quote trimming, and how a mail
// maps to a conversation. The adapter against a real Dovecot is in imap_test.cpp.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "adapters/imap/imap.hpp"
#include "adapters/imap/imap_session.hpp"
#include "adapters/imap/mime.hpp"

using namespace chansync;
using namespace chansync::adapters::imap;

namespace {

std::string crlf(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

const MailMapping k_map{"mail", {"support@example.com", "@shop.example.com"}};

}  // namespace

TEST_CASE("IMAP responses: literals are read by byte count, SELECT data and the tagged status kept", "[imap]") {
  const std::string body = crlf("From: a@b.example\nSubject: x\n\n) A004 OK not the end\n");
  const std::string raw = crlf(
                              "* 2 EXISTS\n* OK [UIDVALIDITY 1796227535] UIDs valid\n* OK [UIDNEXT 9] next\n"
                              "A003 OK [READ-WRITE] Select completed\n") +
                          "* 1 FETCH (UID 7 RFC822.SIZE " + std::to_string(body.size()) +
                          " INTERNALDATE \" 7-Jul-2026 02:44:25 -0700\" BODY[] {" + std::to_string(body.size()) +
                          "}\r\n" + body + ")\r\n* 2 FETCH (UID 8 RFC822.SIZE 12)\r\nA004 OK Fetch completed\r\n";
  auto r = parse_response(raw);
  REQUIRE(r);
  CHECK(r->mailbox.uidvalidity == 1796227535);
  CHECK(r->mailbox.uidnext == 9);
  CHECK(r->mailbox.exists == 2);
  REQUIRE(r->items.size() == 2);
  CHECK(r->items[0].uid == 7);
  CHECK(r->items[0].body == body);
  CHECK(r->items[0].has_body);
  CHECK(r->items[0].internaldate == " 7-Jul-2026 02:44:25 -0700");
  CHECK(r->items[1].uid == 8);
  CHECK(r->items[1].size == 12);
  CHECK_FALSE(r->items[1].has_body);
  CHECK(r->tagged_status == "OK");
  CHECK_FALSE(r->auth_failed);
  CHECK_FALSE(r->select_failed);
  CHECK(parse_internaldate(r->items[0].internaldate) == parse_internaldate("07-Jul-2026 09:44:25 +0000"));
}

TEST_CASE("IMAP responses: a literal cut short is an error naming it, not a wrong mail", "[imap]") {
  const auto r = parse_response("* 1 FETCH (UID 7 BODY[] {500}\r\nFrom: a@b.example\r\n\r\nshort)\r\n");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::protocol);
  CHECK_THAT(r.error().message, Catch::Contains("literal of 500 bytes"));
}

TEST_CASE("IMAP responses: refused logins and missing mailboxes are told apart", "[imap]") {
  const auto auth = parse_response(crlf("A002 NO [AUTHENTICATIONFAILED] Authentication failed.\n"));
  REQUIRE(auth);
  CHECK(auth->auth_failed);
  const auto outlook = parse_response(crlf("A002 NO AUTHENTICATE failed.\n"));
  REQUIRE(outlook);
  CHECK(outlook->auth_failed);
  const auto missing =
      parse_response(crlf("A002 OK Logged in\nA003 NO Mailbox doesn't exist: Archive (0.001 + 0.000 secs).\n"));
  REQUIRE(missing);
  CHECK_FALSE(missing->auth_failed);
  CHECK(missing->select_failed);
  CHECK_THAT(missing->select_text, Catch::Contains("doesn't exist"));
}

TEST_CASE("uid_set folds consecutive UIDs into ranges", "[imap]") {
  const std::vector<std::uint32_t> uids = {1, 2, 3, 5, 7, 8};
  CHECK(uid_set(uids) == "1:3,5,7:8");
  CHECK(uid_set(std::vector<std::uint32_t>{42}) == "42");
}

TEST_CASE("MIME: encoded words, ISO-8859-1 quoted-printable and the display name", "[imap]") {
  const std::string raw = crlf(
      "From: =?ISO-8859-1?Q?J=FCrgen_M=FCller?= <Juergen.Mueller@Example.DE>\n"
      "To: Support <support@example.com>\n"
      "Subject: =?ISO-8859-1?Q?R=FCckfrage_zur_Bestellung?=\n"
      "Date: Tue, 06 Oct 2026 10:15:00 +0200\n"
      "Message-ID: <abc123@example.de>\n"
      "MIME-Version: 1.0\n"
      "Content-Type: text/plain; charset=ISO-8859-1\n"
      "Content-Transfer-Encoding: quoted-printable\n\n"
      "Guten Tag,=0A\nmeine Bestellung ist nicht angekommen. Gr=FC=DFe\n");
  auto m = parse_mail(raw);
  REQUIRE(m);
  CHECK(m->from.name == "Jürgen Müller");
  CHECK(m->subject == "Rückfrage zur Bestellung");
  CHECK(m->message_id == "abc123@example.de");
  CHECK_THAT(m->text, Catch::Contains("Grüße"));
  CHECK(m->date == parse_rfc3339("2026-10-06T08:15:00Z"));
  CHECK_FALSE(m->automatic);

  auto mapped = map_mail(k_map, *m, raw, std::nullopt);
  REQUIRE(std::holds_alternative<Conversation>(mapped));
  const auto& conv = std::get<Conversation>(mapped);
  CHECK(conv.customer == Handle{HandleKind::email, "juergen.mueller@example.de", true});
  CHECK(conv.customer_name == "Jürgen Müller");
  CHECK(conv.business == "support@example.com");
  REQUIRE(conv.messages.size() == 1);
  CHECK(conv.messages[0].direction == Direction::inbound);
  CHECK(conv.messages[0].channel == "email");
  CHECK(conv.messages[0].id == "abc123@example.de");
  CHECK(conv.messages[0].text.starts_with("Rückfrage zur Bestellung\n\nGuten Tag,"));
}

TEST_CASE("MIME: multipart/alternative prefers text/plain; an HTML-only mail gives the HTML's text", "[imap]") {
  const std::string alt = crlf(
      "From: a@customer.example\nTo: support@example.com\nSubject: hi\nDate: Tue, 06 Oct 2026 10:15:00 +0000\n"
      "MIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=\"b1\"\n\n"
      "--b1\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
      "UGxhaW4gdmVyc2lvbiDwn5iK\n"
      "--b1\nContent-Type: text/html; charset=utf-8\n\n<p>HTML version</p>\n--b1--\n");
  auto a = parse_mail(alt);
  REQUIRE(a);
  CHECK(a->text == "Plain version 😊");
  CHECK(a->attachments.empty());

  const std::string html = crlf(
      "From: b@customer.example\nTo: support@example.com\nSubject: html\nDate: Tue, 06 Oct 2026 10:15:00 +0000\n"
      "MIME-Version: 1.0\nContent-Type: text/html; charset=windows-1252\nContent-Transfer-Encoding: "
      "quoted-printable\n\n"
      "<html><head><style>p{color:red}</style><title>T</title></head><body><p>Hallo&nbsp;Team,</p>"
      "<div>die Lieferung <b>fehlt</b>.<br>Gr=FC=DFe</div><script>x()</script></body></html>\n");
  auto h = parse_mail(html);
  REQUIRE(h);
  CHECK(h->text == "Hallo\u00a0Team,\n\ndie Lieferung fehlt.\nGrüße");
}

TEST_CASE("MIME: attachments are listed with type, name and decoded size, never kept", "[imap]") {
  const std::string raw = crlf(
      "From: a@customer.example\nTo: support@example.com\nSubject: invoice\nDate: Tue, 06 Oct 2026 10:15:00 +0000\n"
      "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"m\"\n\n"
      "--m\nContent-Type: text/plain\n\nSee attached.\n"
      "--m\nContent-Type: application/pdf; name=\"invoice.pdf\"\nContent-Disposition: attachment; "
      "filename=\"invoice.pdf\"\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n"
      "--m\nContent-Type: image/png\nContent-Disposition: inline; filename=\"photo.png\"\n"
      "Content-Transfer-Encoding: base64\n\niVBORw0KGgo=\n--m--\n");
  auto m = parse_mail(raw);
  REQUIRE(m);
  CHECK(m->text == "See attached.");
  REQUIRE(m->attachments.size() == 2);
  CHECK(m->attachments[0] == Attachment{"file", "invoice.pdf", "", 9});
  CHECK(m->attachments[1] == Attachment{"image", "photo.png", "", 8});
}

TEST_CASE("MIME: text that is not UTF-8 is made UTF-8, whatever its part declares", "[imap]") {
  const auto is_utf8 = [](const std::string& s) {  // nlohmann::json refuses to write anything else
    try {
      return !nlohmann::json(s).dump().empty();
    } catch (const nlohmann::json::type_error&) {
      return false;
    }
  };
  // A charset no converter knows: the bytes are read as Windows-1252, not kept raw (they made every
  // later pull, push and persons show of that person fail).
  const std::string unknown = crlf(
      "From: k@customer.example\nTo: support@example.com\nSubject: x\nDate: Tue, 06 Oct 2026 10:15:00 +0000\n"
      "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
      "--b\nContent-Type: text/plain; charset=x-no-such-charset\n\ncaf\xe9 unknown \xff\n"
      "--b\nContent-Type: application/pdf\nContent-Disposition: attachment; filename*=x-weird''r%E9sum%E9.pdf\n"
      "Content-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--b--\n");
  auto u = parse_mail(unknown);
  REQUIRE(u);
  CHECK(is_utf8(u->text));
  CHECK_THAT(u->text, Catch::StartsWith("café unknown"));
  REQUIRE(u->attachments.size() == 1);
  CHECK(is_utf8(u->attachments[0].name));
  CHECK(u->attachments[0].name == "résumé.pdf");
  CHECK_NOTHROW(attachments_to_json(u->attachments));

  // Latin-1 mislabelled as UTF-8 keeps its letters (GMime's own conversion dropped them).
  const std::string mislabelled = crlf(
      "From: l@customer.example\nTo: support@example.com\nSubject: y\nDate: Tue, 06 Oct 2026 10:15:00 +0000\n"
      "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
      "Gr\xfc\xdf"
      "e aus K\xf6ln\n");
  auto l = parse_mail(mislabelled);
  REQUIRE(l);
  CHECK(l->text == "Grüße aus Köln");
  // Bytes Windows-1252 leaves undefined become U+FFFD.
  const std::string undefined = crlf(
      "From: m@customer.example\nTo: support@example.com\nSubject: z\nDate: Tue, 06 Oct 2026 10:15:00 +0000\n"
      "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\nend \x81\x8d here\n");
  auto d = parse_mail(undefined);
  REQUIRE(d);
  CHECK(is_utf8(d->text));
  CHECK_THAT(d->text, Catch::StartsWith("end ") && Catch::EndsWith(" here"));
}

TEST_CASE("MIME: one stray 8-bit byte in UTF-8 text is read alone; the rest stays as written", "[imap]") {
  const std::string mixed = crlf(
      "From: z@customer.example\nTo: support@example.com\nSubject: x\nDate: Tue, 06 Oct 2026 10:15:00 +0000\n"
      "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
      "Gr\xc3\xbc\xc3\x9f"
      "e aus K\xc3\xb6ln, \xe2\x82\xac 20 zu viel.\nSent from my caf\xe9 \x81\n");
  auto m = parse_mail(mixed);
  REQUIRE(m);
  CHECK(m->text == "Grüße aus Köln, € 20 zu viel.\nSent from my café \xef\xbf\xbd");
}

TEST_CASE("MIME: format=flowed text is unflowed (RFC 3676), DelSp and quotes included", "[imap]") {
  const auto mail = [](std::string_view params, std::string_view body) {
    return crlf(
        "From: f@customer.example\nTo: support@example.com\nSubject: x\nDate: Tue, 06 Oct 2026 10:15:00 "
        "+0000\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8" +
        std::string(params) + "\n\n" + std::string(body));
  };
  auto d = parse_mail(mail("; format=flowed; delsp=yes",
                           "A long line that was wrapped at seventy-two  \ncharacters; "
                           "Superlongwordthatwassplitinthemi \nddle.\n \n From here.\n"));
  REQUIRE(d);
  CHECK(d->text ==
        "A long line that was wrapped at seventy-two characters; Superlongwordthatwassplitinthemiddle.\n\n"
        "From here.");
  auto f = parse_mail(mail("; format=flowed",
                           "Thanks, it \nworks now.\n\nOn Tue, 6 Oct 2026 at 10:02, Support "
                           "<support@example.com> wrote:\n> Please try \n> again.\n"));
  REQUIRE(f);
  CHECK(f->text == "Thanks, it works now.");
  auto sig = parse_mail(mail("; format=flowed", "Bye \n-- \nTom\n"));
  REQUIRE(sig);
  CHECK(sig->text == "Bye --\nTom");  // "-- " ends the paragraph before it, and is never continued
  auto fixed = parse_mail(mail("", "Not flowed \nat all\n"));
  REQUIRE(fixed);
  CHECK(fixed->text == "Not flowed\nat all");
}

TEST_CASE("MIME: an HTML reply's blockquote is a quote, cut as a plain-text reply's is", "[imap]") {
  const auto mail = [](std::string_view html) {
    return crlf(
        "From: a@customer.example\nTo: support@example.com\nSubject: Re: parcel\nDate: Tue, 06 Oct 2026 "
        "10:15:00 +0000\nMIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n\n" +
        std::string(html) + "\n");
  };
  auto gmail = parse_mail(
      mail("<div dir=\"ltr\">Thanks, still nothing.</div><br><div class=\"gmail_quote\"><div class=\"gmail_attr\">On "
           "Mon, Dec 7, 2026 at 11:00 AM Support &lt;support@example.com&gt; wrote:<br></div><blockquote "
           "class=\"gmail_quote\">Hi Anna, we are checking with the courier.<br><br>Very long old "
           "history.</blockquote></div>"));
  REQUIRE(gmail);
  CHECK(gmail->text == "Thanks, still nothing.");
  auto bottom = parse_mail(
      mail("<div>On Mon, Dec 7, 2026 at 11:00 AM Support &lt;support@example.com&gt; wrote:</div><blockquote "
           "type=\"cite\">Which model?</blockquote><p>Model X200.</p>"));
  REQUIRE(bottom);
  CHECK_THAT(bottom->text, Catch::Contains("> Which model?") && Catch::EndsWith("Model X200."));
}

TEST_CASE("MIME: an HTML part without a charset parameter is read in the charset its <meta> names", "[imap]") {
  const std::string raw =
      "From: Ola <ola@example.pl>\r\nTo: support@example.com\r\nSubject: order\r\nMessage-ID: <o1@example.pl>\r\n"
      "Date: Mon, 7 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/html\r\n"
      "Content-Transfer-Encoding: 8bit\r\n\r\n"
      "<html><head><meta charset=\"iso-8859-2\"></head><body><p>Dzie\xf1 dobry, zam\xf3wienie \xb3\xf3\xbfko</p>"
      "</body></html>\r\n";
  const auto mail = parse_mail(raw);
  REQUIRE(mail);
  CHECK_THAT(mail->text, Catch::Contains("Dzień dobry, zamówienie łóżko"));
}

TEST_CASE("Quoted replies are cut below a clear marker, and only there", "[imap]") {
  CHECK(trim_quoted_reply("Thanks, that works.\n\nOn Tue, 6 Oct 2026 at 10:02, Support <support@example.com> "
                          "wrote:\n> Please try again.\n> Best\n") == "Thanks, that works.");
  CHECK(trim_quoted_reply("Danke!\n\nAm 06.10.2026 um 10:02 schrieb Support <support@example.com>:\n\n> Hallo\n") ==
        "Danke!");
  CHECK(trim_quoted_reply("Wrapped.\n\nOn Tue, 6 Oct 2026 at 10:02, Support\n<support@example.com> wrote:\n> q\n") ==
        "Wrapped.");
  CHECK(trim_quoted_reply("Top.\n\n-----Original Message-----\nFrom: x\nold text\n") == "Top.");
  CHECK(trim_quoted_reply("Top.\n\nFrom: Support <support@example.com>\nSent: Tuesday, October 6, 2026 10:02\n"
                          "To: me\nSubject: Re: x\n\nold\n") == "Top.");
  CHECK(trim_quoted_reply("Answer.\n> quoted\n> more\n") == "Answer.");
  // A forward is the customer's content, with its own From:/Date: block and quotes: kept whole.
  const std::string forward =
      "Please see below, can you refund?\n\n---------- Forwarded message ---------\nFrom: Shop "
      "<shop@example.com>\nDate: Mon, 7 Dec 2026 at 09:12\nSubject: Invoice 123\nTo: me\n\nInvoice 123: 49 EUR\n> "
      "an old line\n";
  CHECK_THAT(trim_quoted_reply(forward), Catch::StartsWith("Please see below") &&
                                             Catch::Contains("Invoice 123: 49 EUR") &&
                                             Catch::Contains("> an old line"));
  CHECK_THAT(trim_quoted_reply("FYI\n\nBegin forwarded message:\n\nFrom: x\nDate: y\n\nthe order\n"),
             Catch::Contains("the order"));
  // Interleaved answers and a lone "wrote:" line without quotes are left as they are.
  CHECK(trim_quoted_reply("> q1\na1\n> q2\na2") == "> q1\na1\n> q2\na2");
  CHECK(trim_quoted_reply("My friend wrote:\nnothing quoted") == "My friend wrote:\nnothing quoted");
  // An answer below the attribution's quote, or between its lines, is the customer's: kept whole.
  const std::string bottom =
      "Hi,\n\nOn Mon, 7 Dec 2026 at 17:10, Support <support@example.com> wrote:\n> Please send the serial "
      "number.\n\nThe serial number is SN-998877.\n\n> Which model do you have?\n\nModel X200.\n\nThanks, Tom\n";
  CHECK_THAT(trim_quoted_reply(bottom), Catch::Contains("SN-998877") && Catch::Contains("Model X200") &&
                                            Catch::Contains("> Which model do you have?"));
  // A quote line the client wrapped, or a signature below the quote, is no answer: cut as before.
  CHECK(trim_quoted_reply("Thanks!\n\nOn Tue, 6 Oct 2026 at 10:02, Support <support@example.com> wrote:\n> a long "
                          "line\nwrapped by the client\n> more\n") == "Thanks!");
  CHECK(trim_quoted_reply("Thanks!\n\nOn Tue, 6 Oct 2026 at 10:02, Support <support@example.com> wrote:\n> q\n\n-- "
                          "\nTom, Berlin\n") == "Thanks!");
  // Nothing but a quote: the text is kept whole.
  CHECK(trim_quoted_reply("> only a quote") == "> only a quote");
}

TEST_CASE("Mail mapping: outbound mail names the recipient as customer; threads follow References", "[imap]") {
  ParsedMail sent;
  sent.message_id = "r2@example.com";
  sent.references = {"r1@customer.example"};
  sent.from = {"Support", "Support@Example.com"};
  sent.to = {{"", "team@shop.example.com"}, {"Ann", "ann@customer.example"}};
  sent.subject = "Re: parcel";
  sent.date = 1'000;
  sent.text = "We are on it.";
  auto mapped = map_mail(k_map, sent, "raw", std::nullopt);
  REQUIRE(std::holds_alternative<Conversation>(mapped));
  const auto& conv = std::get<Conversation>(mapped);
  CHECK(conv.customer.value == "ann@customer.example");
  CHECK(conv.customer_name.empty());  // a name the business typed is not the customer's own
  CHECK(conv.id == "ann@customer.example r1@customer.example");
  CHECK(conv.messages[0].direction == Direction::outbound);
  CHECK(conv.messages[0].author_kind == AuthorKind::agent);
  CHECK(conv.messages[0].author_handle == "support@example.com");

  ParsedMail reply = sent;  // the customer's answer with a new subject still joins the thread
  reply.message_id = "r3@customer.example";
  reply.references = {"r1@customer.example", "r2@example.com"};
  reply.from = {"Ann", "ann@customer.example"};
  reply.to = {{"", "support@example.com"}};
  reply.subject = "Another question";
  auto r = map_mail(k_map, reply, "raw", std::nullopt);
  REQUIRE(std::holds_alternative<Conversation>(r));
  CHECK(std::get<Conversation>(r).id == conv.id);

  ParsedMail internal = sent;  // between own addresses only: no customer
  internal.to = {{"", "team@shop.example.com"}};
  REQUIRE(std::holds_alternative<std::string>(map_mail(k_map, internal, "raw", std::nullopt)));

  ParsedMail no_id = reply;  // no Message-ID: the digest of the bytes names it
  no_id.message_id.clear();
  no_id.references.clear();
  auto d = map_mail(k_map, no_id, "raw bytes", std::nullopt);
  REQUIRE(std::holds_alternative<Conversation>(d));
  CHECK(std::get<Conversation>(d).messages[0].id.starts_with("sha256:"));
}

TEST_CASE("Mail mapping: auto-replies, bulk mail and role senders never identify a customer", "[imap]") {
  ParsedMail ooo;
  ooo.message_id = "ooo@customer.example";
  ooo.from = {"Ann", "ann@customer.example"};
  ooo.to = {{"", "support@example.com"}};
  ooo.date = 5;
  ooo.automatic = true;
  auto a = map_mail(k_map, ooo, "raw", std::nullopt);
  REQUIRE(std::holds_alternative<Conversation>(a));
  CHECK_FALSE(std::get<Conversation>(a).customer.verified);
  CHECK(std::get<Conversation>(a).customer_name.empty());
  CHECK(std::get<Conversation>(a).messages[0].author_kind == AuthorKind::system);

  ParsedMail bounce = ooo;
  bounce.automatic = false;
  bounce.from = {"Mail Delivery System", "MAILER-DAEMON@mail.example.net"};
  auto b = map_mail(k_map, bounce, "raw", std::nullopt);
  REQUIRE(std::holds_alternative<Conversation>(b));
  CHECK_FALSE(std::get<Conversation>(b).customer.verified);

  ParsedMail undated = ooo;  // no Date header: INTERNALDATE stands in; neither: a dead letter
  undated.date.reset();
  auto u = map_mail(k_map, undated, "raw", Timestamp{77});
  REQUIRE(std::holds_alternative<Conversation>(u));
  CHECK(std::get<Conversation>(u).messages[0].sent_at == 77);
  CHECK(std::holds_alternative<std::string>(map_mail(k_map, undated, "raw", std::nullopt)));
}

TEST_CASE("Mail mapping: a relay's Reply-To is the customer; lists and newsletters identify nobody", "[imap]") {
  const auto headers = [](std::string_view extra) {
    return crlf("To: support@example.com\nSubject: x\nDate: Tue, 06 Oct 2026 10:15:00 +0000\n" + std::string(extra) +
                "\n\nHello\n");
  };
  const auto conv = [&](std::string_view extra) {
    auto m = parse_mail(headers(extra));
    REQUIRE(m);
    auto mapped = map_mail(k_map, *m, "raw", std::nullopt);
    REQUIRE(std::holds_alternative<Conversation>(mapped));
    return std::get<Conversation>(mapped);
  };
  // A list that rewrote From for DMARC: two senders are two customers, each verified and named.
  const auto bob = conv(
      "From: \"Bob Miller via Customers\" <customers@groups.example.net>\nReply-To: <bob@bobco.example>\n"
      "List-Id: <customers.groups.example.net>\nMessage-ID: <v1@bobco.example>");
  CHECK(bob.customer == Handle{HandleKind::email, "bob@bobco.example", true});
  CHECK(bob.customer_name == "Bob Miller");
  CHECK(bob.messages[0].author_kind == AuthorKind::customer);
  CHECK(conv("From: \"Carla via Customers\" <customers@groups.example.net>\nReply-To: Carla Diaz "
             "<carla@diaz.example>\nMessage-ID: <v2@diaz.example>")
            .customer.value == "carla@diaz.example");
  // A website's form sent From the business's own domain to support: the visitor, inbound.
  const auto form = conv(
      "From: Website Contact Form <noreply@shop.example.com>\nReply-To: Jane Doe <jane.doe@mail.example>\n"
      "Message-ID: <wf1@example.com>");
  CHECK(form.customer == Handle{HandleKind::email, "jane.doe@mail.example", true});
  CHECK(form.customer_name == "Jane Doe");
  CHECK(form.messages[0].direction == Direction::inbound);
  CHECK(form.business == "support@example.com");
  // A tool's notification to an agent (From own, To own, Reply-To the tool, automatic) identifies no one.
  auto notice = parse_mail(
      crlf("From: support@example.com\nTo: support@example.com\nReply-To: jira@example.atlassian.net\n"
           "Auto-Submitted: auto-generated\nSubject: [JIRA] x\nDate: Tue, 06 Oct 2026 10:15:00 +0000\n\nAssigned\n"));
  REQUIRE(notice);
  auto noticed = map_mail(k_map, *notice, "raw", std::nullopt);
  REQUIRE(std::holds_alternative<Conversation>(noticed));
  CHECK_FALSE(std::get<Conversation>(noticed).customer.verified);
  CHECK(std::get<Conversation>(noticed).messages[0].author_kind == AuthorKind::system);
  // The business's own mail to a customer with some other Reply-To stays outbound to that customer.
  auto sent =
      parse_mail(crlf("From: support@example.com\nTo: ann@customer.example\nReply-To: agency@elsewhere.example\n"
                      "Subject: x\nDate: Tue, 06 Oct 2026 10:15:00 +0000\n\nHi\n"));
  REQUIRE(sent);
  auto s = map_mail(k_map, *sent, "raw", std::nullopt);
  REQUIRE(std::holds_alternative<Conversation>(s));
  CHECK(std::get<Conversation>(s).customer.value == "ann@customer.example");
  CHECK(std::get<Conversation>(s).messages[0].direction == Direction::outbound);
  // A customer's own Reply-To (another address of theirs) changes nothing.
  CHECK(
      conv("From: Ann <ann@customer.example>\nReply-To: ann.private@mail.example\nMessage-ID: <a@c>").customer.value ==
      "ann@customer.example");
  // Newsletters and bounces: kept, but their senders identify no one.
  const auto news = conv(
      "From: Shop Deals <deals@shop-news.example>\nList-Unsubscribe: <https://shop-news.example/u>\nMessage-ID: <n@s>");
  CHECK_FALSE(news.customer.verified);
  CHECK(news.customer_name.empty());
  CHECK(news.messages[0].author_kind == AuthorKind::system);
  CHECK_FALSE(conv("From: Mail Delivery Subsystem <bounce-handler@mx.partner.example>\nReturn-Path: <>\n"
                   "Message-ID: <b@p>")
                  .customer.verified);
  CHECK_FALSE(conv("From: GitHub <notifications@github.example>\nMessage-ID: <g@h>").customer.verified);
  // The business's own group (a shared inbox whose List-Post is one of own_addresses): the sender is a
  // customer like any other.
  const auto group = conv(
      "From: Tom <tom@tom.example>\nList-Id: <support.example.com>\nList-Post: <mailto:support@example.com>\n"
      "Precedence: list\nMessage-ID: <t@t>");
  CHECK(group.customer == Handle{HandleKind::email, "tom@tom.example", true});
  CHECK(group.messages[0].author_kind == AuthorKind::customer);
}

TEST_CASE("own_addresses match whole addresses and whole domains", "[imap]") {
  CHECK(is_own_address(k_map, "SUPPORT@example.com"));
  CHECK(is_own_address(k_map, "anyone@shop.example.com"));
  CHECK_FALSE(is_own_address(k_map, "anyone@example.com"));
  CHECK_FALSE(is_own_address(k_map, "x@evilshop.example.com"));
  CHECK(is_own_address(k_map, "support+ticket42@example.com"));  // a subaddress of an own address
  CHECK_FALSE(is_own_address(k_map, "anyone+x@example.com"));
}

TEST_CASE("Quote trimming survives very long lines (no regex on them)", "[imap]") {
  const std::string long_line = "On " + std::string(200'000, 'x') + " wrote:";
  const std::string text = "Answer.\n\n" + long_line + "\n> quoted\n";
  CHECK(trim_quoted_reply(text) == "Answer.\n\n" + long_line);  // the long line is no marker; the "> " tail is cut
}

TEST_CASE("IMAP responses: RFC 5530 codes that mean 'later' are told from refusals", "[imap]") {
  for (const char* line : {"c2 NO [UNAVAILABLE] Temporary authentication failure\r\n",
                           "c2 NO [INUSE] Mailbox in use\r\n", "c2 NO [LIMIT] Too many connections\r\n"}) {
    INFO(line);
    const auto r = parse_response(line);
    REQUIRE(r);
    CHECK(r->busy);
    CHECK_FALSE(r->auth_failed);
    CHECK_FALSE(r->select_failed);
  }
}
