"""This module contains the wording of simulated mail: many templates per family, each
assembled from optional parts with slot fills, in English and (for the families that
cross borders: vendors, payments, credentials) German, French and Spanish.

Safe mail and attacks share vocabulary on purpose (invoices, payments, urgency,
passwords), so that a detector has to read structure and behaviour, not one phrase.
"""

from __future__ import annotations

import random
import re
import string

LANGS = ("en", "de", "fr", "es")


class _Slots(dict):
    def __missing__(self, key: str) -> str:
        raise KeyError(f"template slot {{{key}}} has no value")


def fill(template: str, slots: dict) -> str:
    return string.Formatter().vformat(template, (), _Slots(slots))


def pick(rng: random.Random, options, slots: dict | None = None) -> str:
    text = rng.choice(options)
    return fill(text, slots) if slots is not None else text


def maybe(rng: random.Random, p: float, options, slots: dict) -> str:
    return pick(rng, options, slots) if rng.random() < p else ""


def para(*parts: str) -> str:
    return "\n\n".join(p for p in parts if p)


def join_sentences(*parts: str) -> str:
    return " ".join(p for p in parts if p)


# --- slot values ------------------------------------------------------------------------
PROJECTS = ["Atlas", "Q3 rollout", "website refresh", "ERP migration", "Northstar", "Phoenix",
            "data warehouse", "pricing review", "onboarding revamp", "Helios", "Falcon",
            "warehouse expansion", "SOC 2 audit", "budget planning", "Orion", "customer portal",
            "CRM cleanup", "renewal campaign", "Titan", "mobile app", "vendor consolidation"]
DOCS = ["the deck", "the draft", "the spreadsheet", "the proposal", "the contract",
        "the SOW", "the forecast", "the budget sheet", "the minutes", "the roadmap",
        "the report", "the summary", "the checklist", "the quote", "the schedule"]
DAYS = {"en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "tomorrow", "next week",
               "end of day", "this afternoon"],
        "de": ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "morgen",
               "nächste Woche", "heute Nachmittag"],
        "fr": ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "demain",
               "la semaine prochaine", "cet après-midi"],
        "es": ["el lunes", "el martes", "el miércoles", "el jueves", "el viernes", "mañana",
               "la próxima semana", "esta tarde"]}
TIMES = ["9:00", "9:30", "10:00", "10:30", "11:00", "13:00", "14:00", "14:30", "15:00", "16:00"]
COMPANY_HINTS = ["Northwind", "Contoso", "Fabrikam", "Globex", "Initech", "Tailspin", "Wingtip",
                 "Litware", "Proseware", "Adatum", "Lucerne", "Margie's Travel", "Trey Research"]
QUARTERS = ["Q1", "Q2", "Q3", "Q4", "H1", "H2", "FY"]

GREET = {
    "en": ["Hi {first},", "Hello {first},", "Hey {first},", "{first},", "Good morning {first},",
           "Dear {first},", "Hi {first}", "Morning {first},", "Hi there,", "Hello,",
           "Good afternoon {first},", "{first} -"],
    "de": ["Hallo {first},", "Guten Tag {first},", "Liebe(r) {first},", "Hallo,",
           "Sehr geehrte Damen und Herren,", "Moin {first},", "Guten Morgen {first},"],
    "fr": ["Bonjour {first},", "Bonjour,", "Cher {first},", "Bonsoir {first},",
           "Madame, Monsieur,", "Salut {first},"],
    "es": ["Hola {first},", "Buenos días {first},", "Estimado/a {first},", "Hola,",
           "Buenas tardes {first},", "Estimados,"],
}
CLOSE = {
    "en": ["Thanks,", "Thanks!", "Best,", "Best regards,", "Regards,", "Cheers,",
           "Thank you,", "Kind regards,", "Many thanks,", "Talk soon,", "-", "Sent from my iPhone",
           "Thx,", "All the best,"],
    "de": ["Viele Grüße", "Beste Grüße", "Mit freundlichen Grüßen", "Danke und Gruß",
           "Gruß", "Schöne Grüße"],
    "fr": ["Cordialement,", "Bien à vous,", "Merci,", "Bonne journée,",
           "Bien cordialement,", "À bientôt,"],
    "es": ["Saludos,", "Un saludo,", "Gracias,", "Atentamente,", "Saludos cordiales,",
           "Un abrazo,"],
}


def base_slots(rng: random.Random, lang: str = "en") -> dict:
    return {
        "project": rng.choice(PROJECTS), "doc": rng.choice(DOCS),
        "day": rng.choice(DAYS.get(lang, DAYS["en"])), "time": rng.choice(TIMES),
        "quarter": rng.choice(QUARTERS), "n": rng.randint(2, 14),
        "pct": rng.randint(3, 40), "num": rng.randint(1000, 99999),
        "amount": money(rng, lang), "q": rng.randint(1, 4), "company": rng.choice(COMPANY_HINTS), "ticket": f"{rng.choice(['INC', 'REQ', 'SR', 'CS'])}-{rng.randint(10000, 99999)}",
    }


def money(rng: random.Random, lang: str = "en", lo: float = 400, hi: float = 96000) -> str:
    value = round(rng.uniform(lo, hi), 2) if rng.random() < 0.8 else float(rng.randint(int(lo / 100), int(hi / 100)) * 100)
    if lang == "en":
        return f"${value:,.2f}"
    text = f"{value:,.2f}".replace(",", " ").replace(".", ",")
    return f"{text} €" if lang in ("fr", "es") else f"{text} EUR"


def greet(rng: random.Random, lang: str, first: str) -> str:
    return pick(rng, GREET[lang], {"first": first})


def signature(rng: random.Random, lang: str, name: str, title: str = "", company: str = "",
              phone: str = "", style: float | None = None) -> str:
    """A closing and signature block; people keep theirs, so callers pass a fixed style."""
    style = rng.random() if style is None else style
    close = pick(rng, CLOSE[lang])
    if close == "Sent from my iPhone":
        return f"{name.split()[0]}\n\nSent from my iPhone"
    if style < 0.3:
        return f"{close}\n{name.split()[0]}"
    lines = [close, name]
    if title and company and style >= 0.6:
        lines.append(f"{title} | {company}")
    else:
        if title:
            lines.append(title)
        if company and style >= 0.45:
            lines.append(company)
    if phone and style >= 0.55:
        lines.append(("Tel: " if lang != "en" else rng.choice(["", "M: ", "Direct: ", "T "])) + phone)
    return "\n".join(lines)


# --- safe: internal conversation ---------------------------------------------------------
INTERNAL_TOPICS = [
    {"subject": ["{project} status", "{project} update", "Update on {project}",
                 "{project}: next steps", "Re-plan for {project}", "{project} - quick sync"],
     "body": ["Quick update on {project}: we are about {pct}% done and on track for {day}.",
              "Where are we with {project}? I need to give an update to leadership {day}.",
              "I pulled together {doc} for {project}. Can you take a look before {day}?",
              "We hit a snag on {project}; the dependency on the vendor slipped by {n} days.",
              "Can we move the {project} review to {day} at {time}? Something came up.",
              "Attached is {doc} for {project}. Comments welcome, especially on the timeline."]},
    {"subject": ["Meeting {day}", "Sync at {time}?", "Catch up", "1:1 {day}",
                 "Rescheduling our call", "Agenda for {day}", "Quick question"],
     "body": ["Do you have {n}0 minutes {day} at {time} to go over {doc}?",
              "Can we push our 1:1 to {day}? I'm double-booked at {time}.",
              "Are you free for a quick call? Want to run something by you.",
              "Here is the agenda for {day}: {project}, hiring, and the {quarter} numbers.",
              "Do you have a minute? Need your input on {doc} before I send it out.",
              "Are you at your desk? Need a quick word about {project}.",
              "Are you in the office today? I need a favor with {doc}.",
              "I'm in meetings all day, so email is best. Can you take care of {doc}?",
              "Keep this between us for now: we are reorganising the {project} team."]},
    {"subject": ["{quarter} numbers", "{quarter} forecast", "Budget question",
                 "Expense report", "Headcount plan", "{quarter} close"],
     "body": ["The {quarter} forecast is in {doc}. Revenue is up {pct}% but costs are ahead of plan.",
              "I need your expense report by {day} so we can close the month.",
              "Can you confirm the cost centre for the {project} purchases? Finance is asking.",
              "We are {pct}% over budget on travel; let's discuss at the next staff meeting.",
              "Please review the accruals for {project} before {day}; the total is {amount}."]},
    {"subject": ["New hire starting {day}", "Interview feedback", "Candidate for the {project} role",
                 "Offer letter", "Team offsite", "Holiday schedule"],
     "body": ["We have a new engineer starting {day}; can you make sure the laptop is ready?",
              "Please send your feedback on the candidate by {day}.",
              "The offsite is confirmed for {day}. Let me know about dietary requirements.",
              "Reminder to put your time off for the holidays in the calendar."]},
    {"subject": ["{ticket}: laptop issue", "VPN not connecting", "Access request",
                 "Printer on 3rd floor", "New software request", "Password expiry"],
     "body": ["I can't connect to the VPN since this morning. Ticket is {ticket}.",
              "Can you give {first2} access to the {project} folder? Thanks.",
              "Your password expires in {n} days; please change it from the portal on your laptop.",
              "The printer on the third floor is jammed again.",
              "Could we get a licence for the design tool for the {project} work?"]},
    {"subject": ["Urgent: {project}", "Need this today", "Time-sensitive", "ASAP: {doc}",
                 "Payment to {vendor}", "Wire for {vendor}", "Invoice approval"],
     "body": ["Can you process the payment to {vendor} today? The invoice is {amount} and it's approved.",
              "I need {doc} for {project} in the next hour; the board call got moved up.",
              "Please approve the {vendor} invoice in the system when you get a chance, it's due {day}.",
              "Can you get the wire for {vendor} out before the cutoff? Approved on my side.",
              "Please release the payment run today; {vendor} is on it for {amount}."]},
]
REPLIES = {
    "en": ["Thanks, will do.", "Sounds good.", "Works for me.", "Got it, thanks!",
           "Sure, {day} at {time} is fine.", "I'll take a look {day}.", "Done.",
           "Thanks for the heads up.", "Let me check and get back to you.",
           "Yes, that's fine. Go ahead.", "Can you add {first2} to the thread?",
           "I've attached my comments.", "Agreed. Let's discuss {day}.",
           "Not yet, should be done by {day}.", "Looks good to me.",
           "Quick question: is this the latest version of {doc}?",
           "Approved.", "Perfect, thank you.", "On it.", "I'm out {day}, can it wait?"],
    "de": ["Danke, mache ich.", "Passt.", "Alles klar, danke!", "Ich schaue es mir {day} an.",
           "Erledigt.", "Ja, passt so.", "Ich melde mich {day}."],
    "fr": ["Merci, je m'en occupe.", "Parfait.", "C'est noté, merci !", "Je regarde {day}.",
           "C'est fait.", "Oui, ça me va.", "Je reviens vers vous {day}."],
    "es": ["Gracias, lo hago.", "Perfecto.", "Entendido, ¡gracias!", "Lo reviso {day}.",
           "Hecho.", "Sí, está bien.", "Te respondo {day}."],
}


# --- safe: external business ---------------------------------------------------------------
OUTBOUND_TOPICS = {
    "customer": (["Your order {num}", "Follow-up from our call", "Proposal for {company}",
                  "Renewal for {year_hint}", "Quote {num}", "Onboarding next steps",
                  "Question about your account"],
                 ["Thanks for the call {day}. As discussed, I've attached {doc} for your review.",
                  "Following up on quote {num}: let me know if you have any questions.",
                  "Your order {num} shipped {day}; tracking details are below.",
                  "Just checking in on the renewal. Happy to walk through the options.",
                  "Here are the next steps for onboarding. Our team will reach out {day}."]),
    "vendor": (["PO {num}", "Question on invoice {inv}", "Order request", "Service renewal",
                "Delivery {day}", "Contract question"],
               ["Please find PO {num} attached for the {service}.",
                "We received invoice {inv}; can you confirm the quantity on line 2?",
                "Can you send us a quote for {service} for {quarter}?",
                "Could you confirm delivery for {day}? We need it on site by {time}.",
                "Our AP team will process invoice {inv} in the next payment run."]),
    "partner": (["Joint webinar", "Partnership update", "Co-marketing plan", "Integration timeline",
                 "Referral {num}"],
                ["Looking forward to the joint webinar {day}. Slides attached.",
                 "Quick update on the integration: testing starts {day}.",
                 "We have a referral for you, details below.",
                 "Can we meet {day} to discuss the {quarter} plan?"]),
}
INBOUND_EXTERNAL = {
    "en": ["Thanks for sending this over. A couple of questions on {doc}.",
           "Could you resend {doc}? I can't find the attachment.",
           "We are fine with the terms. Please send the final version.",
           "Can we move our call to {day} at {time}?",
           "I'll be out of office {day}; please contact my colleague in the meantime.",
           "Please see the attached and let us know.",
           "Do you have availability {day}? Happy to come by the office."],
    "de": ["Vielen Dank für die Unterlagen. Ich habe noch ein paar Fragen.",
           "Können Sie {doc} noch einmal schicken? Der Anhang fehlt.",
           "Wir sind mit den Konditionen einverstanden.",
           "Können wir den Termin auf {day} um {time} verschieben?"],
    "fr": ["Merci pour l'envoi. J'ai quelques questions.",
           "Pourriez-vous renvoyer le document ? La pièce jointe manque.",
           "Les conditions nous conviennent.",
           "Pouvons-nous décaler notre appel à {day} à {time} ?"],
    "es": ["Gracias por el envío. Tengo algunas preguntas.",
           "¿Podría reenviar el documento? No encuentro el adjunto.",
           "Estamos de acuerdo con las condiciones.",
           "¿Podemos mover la llamada a {day} a las {time}?"],
}

VENDOR_INVOICE = {
    "en": (["Invoice {inv} from {company}", "{company} - Invoice {inv}", "Your invoice {inv}",
            "Invoice {inv} for {service}", "New invoice from {company}", "Statement of account",
            "Invoice {inv} due {due}"],
           ["Please find attached invoice {inv} for {service}, amount {amount}, due {due}.",
            "Attached is our invoice {inv} ({amount}). Payment terms are net {terms}.",
            "Here is the invoice for this month's {service}. Let me know if you need a PO number on it.",
            "Invoice {inv} is attached. Remittance details are on the invoice as usual.",
            "Please see attached statement; invoice {inv} for {amount} is open."]),
    "de": (["Rechnung {inv} von {company}", "Ihre Rechnung {inv}", "Rechnung {inv} - {service}"],
           ["anbei erhalten Sie unsere Rechnung {inv} über {amount}, fällig am {due}.",
            "im Anhang finden Sie die Rechnung {inv} für {service}. Zahlungsziel {terms} Tage.",
            "bitte finden Sie anbei die Rechnung für {service}. Bankverbindung wie gewohnt."]),
    "fr": (["Facture {inv} - {company}", "Votre facture {inv}", "Facture {inv} pour {service}"],
           ["veuillez trouver ci-joint la facture {inv} d'un montant de {amount}, échéance le {due}.",
            "ci-joint notre facture {inv} pour {service}. Conditions de paiement : {terms} jours.",
            "vous trouverez en pièce jointe la facture du mois. Coordonnées bancaires inchangées."]),
    "es": (["Factura {inv} - {company}", "Su factura {inv}", "Factura {inv} por {service}"],
           ["adjunto la factura {inv} por un importe de {amount}, con vencimiento el {due}.",
            "le enviamos la factura {inv} por {service}. Plazo de pago: {terms} días.",
            "en el adjunto encontrará la factura del mes. Los datos bancarios no cambian."]),
}
# Real vendors chasing money: a hard case that shares words with payment fraud.
VENDOR_REMINDER = {
    "en": (["Overdue: invoice {inv}", "Payment reminder - {inv}", "Past due balance",
            "Following up on invoice {inv}", "Re: invoice {inv}"],
           ["Our records show invoice {inv} for {amount} is now {n} days past due. Could you let us know when we can expect payment?",
            "Just a friendly reminder that invoice {inv} was due on {due}. Please let me know if anything is holding it up.",
            "Could you check the status of invoice {inv}? Our finance team is asking. Payment details are unchanged from the invoice.",
            "We have not yet received payment for invoice {inv} ({amount}). If it has already been sent, please send the remittance advice."]),
    "de": (["Zahlungserinnerung {inv}", "Offene Rechnung {inv}"],
           ["laut unseren Unterlagen ist die Rechnung {inv} über {amount} seit {n} Tagen fällig. Wann dürfen wir mit der Zahlung rechnen?",
            "eine kurze Erinnerung: die Rechnung {inv} war am {due} fällig."]),
    "fr": (["Relance facture {inv}", "Facture {inv} impayée"],
           ["sauf erreur de notre part, la facture {inv} de {amount} est échue depuis {n} jours. Pouvez-vous nous indiquer la date de paiement ?",
            "petit rappel : la facture {inv} était due le {due}."]),
    "es": (["Recordatorio de pago {inv}", "Factura {inv} vencida"],
           ["según nuestros registros, la factura {inv} por {amount} lleva {n} días vencida. ¿Cuándo podemos esperar el pago?",
            "un recordatorio: la factura {inv} vencía el {due}."]),
}

SAAS_NOTES = {
    "password_reset": (["Reset your {brand} password", "{brand} password reset request",
                        "Your {brand} password was changed", "Password reset instructions"],
                       ["We received a request to reset the password for your {brand} account ({email}). Click the link below to choose a new password. If you didn't request this, you can ignore this email.",
                        "Someone asked to reset your {brand} password. This link expires in {n} hours.",
                        "Your {brand} password was changed on {when}. If this was you, no action is needed. If not, secure your account now."]),
    "signin": (["New sign-in to your {brand} account", "Security alert", "New login from {city}",
                "Unusual sign-in activity"],
               ["We noticed a new sign-in to your {brand} account from {city} on {browser}. If this was you, you don't need to do anything.",
                "Your account {email} was just used to sign in on a new device ({browser}, {city})."]),
    "share": (["{person} shared \"{file}\" with you", "{person} invited you to edit \"{file}\"",
               "Document shared with you: {file}", "{person} sent you {file}"],
              ["{person} has shared a file with you: {file}. Open it in {brand}.",
               "{person} invited you to collaborate on {file}.",
               "{person} sent you a document to review and sign: {file}."]),
    "mention": (["{person} mentioned you in {project}", "[{project}] {ticket} assigned to you",
                 "New comment on {ticket}", "You have {n} unread messages"],
                ["{person} mentioned you: \"can you take a look at this before {day}?\"",
                 "{ticket} was assigned to you by {person}. Priority: {prio}.",
                 "You have {n} unread messages in {project} channels."]),
    "meeting": (["Invitation: {project} sync @ {day} {time}", "{person} is inviting you to a scheduled meeting",
                 "Meeting reminder: {project}"],
                ["{person} is inviting you to a scheduled meeting. Topic: {project}. Time: {day} {time}.",
                 "Reminder: {project} starts in 15 minutes. Join from the link below."]),
    "billing": (["Your {brand} receipt", "Your {brand} invoice is available", "Payment received - thank you",
                 "Your subscription renews soon"],
                ["Thanks for your payment of {amount}. Your receipt is available in the billing portal.",
                 "Your invoice for {quarter} is ready. Amount due: {amount}.",
                 "Your {brand} subscription renews on {due}. No action is required."]),
}
CITIES = ["Chicago, US", "Austin, US", "London, UK", "Berlin, DE", "Toronto, CA", "Dublin, IE",
          "Seattle, US", "Madrid, ES", "Paris, FR", "Denver, US", "Atlanta, US"]
BROWSERS = ["Chrome on Windows", "Safari on macOS", "Edge on Windows", "Firefox on Linux",
            "Safari on iPhone", "Chrome on Android"]
FILES = ["Q{q} plan.xlsx", "Contract_{num}.pdf", "{project} roadmap.pptx", "Budget {quarter}.xlsx",
         "Statement of Work {num}.docx", "Board update.pptx", "Pricing {quarter}.xlsx",
         "NDA - {company}.pdf", "Onboarding checklist.docx", "Meeting notes {day}.docx"]

NEWS_SECTIONS = ["Top stories", "In case you missed it", "Markets", "Analysis", "Events",
                 "Opinion", "Sponsored", "Jobs", "Research", "Podcast"]
NEWS_HEADLINES = [
    "How {company} cut freight costs by {pct}%", "{n} trends shaping {quarter}",
    "Why the {project} approach is winning", "Interview: the CFO who rebuilt {company}",
    "Regulators eye new rules for payments", "The state of cloud spending",
    "{n} tools every operations team needs", "Hiring slows in tech, rises in logistics",
    "Inside the {project} deal", "What rising rates mean for mid-size firms",
    "Webinar: planning for {quarter}", "Case study: {company} modernises its supply chain",
    "Security roundup: {n} breaches this week", "Opinion: stop optimising the wrong metric"]
LIST_POSTS = [
    "Has anyone migrated from {project} to something newer? Interested in lessons learned.",
    "Reminder: the monthly meetup is {day} at {time}. Agenda on the wiki.",
    "We are seeing intermittent failures after the last update. Anyone else?",
    "Sharing slides from last week's session, thanks to everyone who joined.",
    "Question for the group: how do you handle {doc} approvals across teams?",
    "Job posting: we're hiring a {title} (remote OK). Details in the link.",
]


# --- attacks -------------------------------------------------------------------------------
BEC_VIP = {
    "en": {
        "subject": ["Quick request", "Are you available?", "Urgent", "Request", "Confidential",
                    "Payment", "Task", "Need a favor", "Are you at your desk?", "Follow up",
                    "{first}", "Wire today", "Pending payment", "Quick one", "Priority"],
        "open": ["Are you at your desk?", "Do you have a moment?", "I need you to handle something for me today.",
                 "Are you available for a quick task?", "I need a favor.", "Let me know when you're free.",
                 "Are you in the office?", "Can you take care of something quickly?", ""],
        "ask": ["I need a wire of {amount} sent to a new supplier today for the {project} acquisition.",
                "We need to process an urgent payment of {amount} to close the {project} deal.",
                "Please process a transfer of {amount} to the account I will send over.",
                "I have a pending invoice of {amount} that must be paid before cutoff today.",
                "Can you set up a same-day payment of {amount}? Details to follow.",
                "Please confirm you can make an international transfer today, it's {amount}.",
                "Need you to release {amount} to our legal counsel's escrow account this afternoon.",
                "I need you to update my direct deposit details before the next payroll run."],
        "pressure": ["I'm in meetings all day so email is best.", "I'm about to board a flight.",
                     "Keep this between us until it's announced.", "It has to go out before {time}.",
                     "Don't call, I'm in a board meeting.", "This is time sensitive.",
                     "I'll explain when I'm back.", "Please treat this as confidential.", ""],
        "close": ["Let me know once done.", "Reply with the confirmation.", "Thanks.",
                  "Send me the confirmation when it's processed.", "Get back to me asap.", ""],
    },
    "de": {
        "subject": ["Dringend", "Kurze Anfrage", "Vertraulich", "Überweisung heute", "Bist du da?"],
        "open": ["Bist du am Platz?", "Hast du kurz Zeit?", "Ich brauche heute deine Hilfe.", ""],
        "ask": ["Wir müssen heute eine Überweisung über {amount} an einen neuen Lieferanten veranlassen.",
                "Bitte bereite eine Zahlung von {amount} für die Übernahme {project} vor.",
                "Ich habe eine offene Rechnung über {amount}, die heute noch raus muss."],
        "pressure": ["Ich sitze den ganzen Tag in Meetings.", "Bitte vertraulich behandeln.",
                     "Es muss vor {time} raus.", ""],
        "close": ["Gib mir Bescheid, wenn erledigt.", "Danke.", ""],
    },
    "fr": {
        "subject": ["Urgent", "Demande rapide", "Confidentiel", "Virement aujourd'hui", "Es-tu disponible ?"],
        "open": ["Es-tu à ton bureau ?", "As-tu un moment ?", "J'ai besoin de toi pour une tâche aujourd'hui.", ""],
        "ask": ["Nous devons effectuer un virement de {amount} à un nouveau fournisseur aujourd'hui.",
                "Merci de préparer un paiement de {amount} pour l'opération {project}.",
                "J'ai une facture de {amount} à régler avant ce soir."],
        "pressure": ["Je suis en réunion toute la journée.", "Merci de rester discret.",
                     "Cela doit partir avant {time}.", ""],
        "close": ["Tiens-moi au courant.", "Merci.", ""],
    },
    "es": {
        "subject": ["Urgente", "Petición rápida", "Confidencial", "Transferencia hoy", "¿Estás disponible?"],
        "open": ["¿Estás en tu mesa?", "¿Tienes un momento?", "Necesito que me ayudes con algo hoy.", ""],
        "ask": ["Necesitamos hacer una transferencia de {amount} a un nuevo proveedor hoy.",
                "Por favor prepara un pago de {amount} para la operación {project}.",
                "Tengo una factura de {amount} que hay que pagar antes del cierre."],
        "pressure": ["Estoy en reuniones todo el día.", "Por favor, mantenlo confidencial.",
                     "Tiene que salir antes de las {time}.", ""],
        "close": ["Avísame cuando esté hecho.", "Gracias.", ""],
    },
}
GIFT_CARD = {
    "en": {
        "subject": ["Quick favor", "Gift cards", "Surprise for the team", "Are you busy?",
                    "Need your help", "Request", "Staff appreciation"],
        "ask": ["I need you to pick up {n} {card} gift cards at {value} each for a client appreciation gift.",
                "I want to surprise some of the staff with gift cards. Can you get {n} {card} cards, {value} each?",
                "Can you buy {card} gift cards for me today? {n} cards of {value}. I'll reimburse you.",
                "I need {n} {card} cards ({value} each) for a client today, it's a surprise so keep it quiet."],
        "then": ["Scratch the back and send me pictures of the codes.",
                 "Email me the card numbers and PINs once you have them.",
                 "Take a photo of each card with the code visible and reply here.",
                 "Send the codes here as soon as you can."],
    },
    "de": {"subject": ["Kleiner Gefallen", "Gutscheine", "Überraschung fürs Team"],
           "ask": ["Kannst du heute {n} {card}-Gutscheine zu je {value} besorgen? Es ist eine Überraschung.",
                   "Ich brauche {n} {card}-Karten à {value} für einen Kunden."],
           "then": ["Schick mir bitte Fotos der Codes.", "Sende mir die Codes per E-Mail."]},
    "fr": {"subject": ["Petit service", "Cartes cadeaux", "Surprise pour l'équipe"],
           "ask": ["Peux-tu acheter {n} cartes cadeaux {card} de {value} chacune ? C'est une surprise.",
                   "J'ai besoin de {n} cartes {card} de {value} pour un client aujourd'hui."],
           "then": ["Envoie-moi une photo des codes.", "Envoie-moi les codes par e-mail."]},
    "es": {"subject": ["Un favor", "Tarjetas regalo", "Sorpresa para el equipo"],
           "ask": ["¿Puedes comprar {n} tarjetas regalo de {card} de {value} cada una? Es una sorpresa.",
                   "Necesito {n} tarjetas {card} de {value} para un cliente hoy."],
           "then": ["Envíame fotos de los códigos.", "Mándame los códigos por correo."]},
}
GIFT_CARDS = ["Apple", "Amazon", "Google Play", "Target", "Visa", "Steam", "Best Buy", "eBay"]

BANK_CHANGE = {
    "en": {
        "subject": ["Updated banking details", "Change of bank account", "Re: invoice {inv}",
                    "Important: new remittance information", "Payment instructions update",
                    "Account update - {company}", "Invoice {inv} - revised payment details",
                    "Bank account change notification", "Outstanding invoices"],
        "open": ["I hope you are well.", "I hope this email finds you well.",
                 "Following our recent audit,", "Please note that", "As part of a change in our banking relationship,",
                 "Hope all is good on your side.", ""],
        "ask": ["we have changed our bank and all future payments should be made to the new account below.",
                "our old account is no longer able to receive payments. Kindly update your records with the details below before paying invoice {inv}.",
                "please update the remittance details for {company} in your vendor master to the account below.",
                "invoice {inv} for {amount} should be paid to our new account, details below.",
                "our bank details have been updated. Please use the new account for the open invoices and confirm once changed.",
                "we are moving our accounts to a new bank. Can you let me know the process to update our details in your system?",
                "remittances for {company} now go to a different account; the details are listed below.",
                "our finance team asked me to share the updated account information for your records.",
                "we switched banks at the end of last month, so the account on file will reject incoming transfers.",
                "could you route the payment for invoice {inv} to the account below rather than the one on file?",
                "due to an internal restructuring, payments are now collected through our subsidiary's account below.",
                "please hold the payment for invoice {inv} until you have updated our banking information.",
                "the account number on our previous invoices is being closed. Kindly note the replacement below."],
        "pressure": ["Please confirm once updated.", "Kindly send the remittance advice once paid.",
                     "Let me know when the pending invoices will be settled.",
                     "Do not use the previous account as payments to it will be returned.",
                     "Could you let me know the date of your next payment run?",
                     "A signed letter on our letterhead can follow if your process needs it.",
                     "Happy to jump on a call, but email is quickest this week.",
                     "Please reply to confirm so we can reconcile on our side.",
                     "Let me know if your team needs a new W-9 or vendor form.",
                     "We'd appreciate it if the open balance could go out this week.",
                     "Any payment already in transit will be forwarded, no need to worry.", ""],
    },
    "de": {
        "subject": ["Neue Bankverbindung", "Änderung der Kontodaten", "Rechnung {inv} - neue Zahlungsinformationen"],
        "open": ["ich hoffe, es geht Ihnen gut.", "bitte beachten Sie:", ""],
        "ask": ["wir haben unsere Bank gewechselt. Bitte überweisen Sie künftige Zahlungen auf das folgende Konto.",
                "die Rechnung {inv} über {amount} bitte auf unser neues Konto überweisen.",
                "bitte aktualisieren Sie unsere Bankverbindung in Ihren Stammdaten."],
        "pressure": ["Bitte bestätigen Sie die Änderung.", "Das alte Konto ist nicht mehr aktiv.", ""],
    },
    "fr": {
        "subject": ["Nouvelles coordonnées bancaires", "Changement de RIB", "Facture {inv} - nouveau RIB"],
        "open": ["j'espère que vous allez bien.", "veuillez noter que", ""],
        "ask": ["nous avons changé de banque. Merci d'effectuer les prochains paiements sur le compte ci-dessous.",
                "la facture {inv} de {amount} doit être réglée sur notre nouveau compte.",
                "merci de mettre à jour notre RIB dans votre fichier fournisseurs."],
        "pressure": ["Merci de confirmer la mise à jour.", "L'ancien compte est clôturé.", ""],
    },
    "es": {
        "subject": ["Nuevos datos bancarios", "Cambio de cuenta bancaria", "Factura {inv} - nuevos datos de pago"],
        "open": ["espero que se encuentre bien.", "le informamos que", ""],
        "ask": ["hemos cambiado de banco. Por favor, realice los próximos pagos a la cuenta indicada abajo.",
                "la factura {inv} por {amount} debe abonarse en nuestra nueva cuenta.",
                "por favor actualice nuestros datos bancarios en su sistema."],
        "pressure": ["Por favor confirme el cambio.", "La cuenta anterior ya no está activa.", ""],
    },
}

CRED = {
    "en": {
        "brands": ["Microsoft 365", "Office 365", "SharePoint", "OneDrive", "DocuSign", "Adobe Sign",
                   "IT Service Desk", "Mail Administrator", "Outlook", "Dropbox", "Zoom", "Payroll"],
        "subject": ["Action required: verify your mailbox", "Your password expires today",
                    "{person} shared \"{file}\" with you", "You have {n} pending messages",
                    "Unusual sign-in activity", "Document ready for signature: {file}",
                    "Mailbox storage full", "Voicemail from {phone}", "Payroll update required",
                    "Complete your security review", "[{brand}] Please re-authenticate",
                    "{brand}: your session has expired", "Invoice {inv} shared via {brand}",
                    "New secure message", "Re: {file}"],
        "body": ["Your password for {email} expires in {n} hours. Keep your current password by confirming below.",
                 "{n} incoming messages were held because your mailbox is over quota. Review them to release delivery.",
                 "{person} has shared a document with you: {file}. Sign in to view.",
                 "We detected an unusual sign-in to your account from {city}. If this wasn't you, verify your account.",
                 "You have a new document to review and sign: {file}. Please complete by {day}.",
                 "You received a voice message ({n} seconds). Listen to it in the portal.",
                 "Please update your direct deposit information in the payroll portal before {day}.",
                 "As part of our annual security review, all staff must confirm their credentials by {day}.",
                 "Your session has expired. Sign in again to continue receiving email.",
                 "{person} sent you a secure file via {brand}. The link stays active for {n} days.",
                 "Your mailbox {email} is scheduled for deactivation {day}. Confirm ownership to keep it.",
                 "A payment notice for invoice {inv} is waiting for you. Access it with your work account.",
                 "We could not deliver {n} messages to {email}. Sign in to review and retrieve them.",
                 "Your multi-factor settings need to be re-registered before {day}.",
                 "HR has published an updated handbook. Acknowledge it with your company login by {day}.",
                 "There is a pending wire confirmation that requires your approval in the portal.",
                 "Your shared drive access will be removed {day} unless you re-validate it."],
        "cta": ["Review now", "Sign in", "View document", "Keep current password", "Verify account",
                "Open", "Review document", "Release messages", "Listen", "Update now", "Continue",
                "Access file", "Confirm", "Open secure message", "Acknowledge", "Retrieve messages"],
    },
    "de": {
        "brands": ["Microsoft 365", "IT-Service", "SharePoint", "DocuSign"],
        "subject": ["Ihr Passwort läuft heute ab", "{person} hat \"{file}\" mit Ihnen geteilt",
                    "Postfach voll", "Aktion erforderlich: Konto bestätigen"],
        "body": ["Das Passwort für {email} läuft in {n} Stunden ab. Bestätigen Sie Ihr aktuelles Passwort.",
                 "{person} hat ein Dokument mit Ihnen geteilt: {file}. Melden Sie sich an, um es anzuzeigen.",
                 "Ihr Postfach ist voll; {n} Nachrichten wurden zurückgehalten."],
        "cta": ["Jetzt prüfen", "Anmelden", "Dokument öffnen"],
    },
    "fr": {
        "brands": ["Microsoft 365", "Service informatique", "SharePoint", "DocuSign"],
        "subject": ["Votre mot de passe expire aujourd'hui", "{person} a partagé \"{file}\" avec vous",
                    "Boîte aux lettres pleine", "Action requise : vérifiez votre compte"],
        "body": ["Le mot de passe de {email} expire dans {n} heures. Confirmez votre mot de passe actuel.",
                 "{person} a partagé un document avec vous : {file}. Connectez-vous pour le consulter.",
                 "Votre boîte est pleine ; {n} messages sont en attente."],
        "cta": ["Vérifier", "Se connecter", "Ouvrir le document"],
    },
    "es": {
        "brands": ["Microsoft 365", "Soporte TI", "SharePoint", "DocuSign"],
        "subject": ["Su contraseña caduca hoy", "{person} compartió \"{file}\" con usted",
                    "Buzón lleno", "Acción requerida: verifique su cuenta"],
        "body": ["La contraseña de {email} caduca en {n} horas. Confirme su contraseña actual.",
                 "{person} compartió un documento con usted: {file}. Inicie sesión para verlo.",
                 "Su buzón está lleno; {n} mensajes están retenidos."],
        "cta": ["Revisar", "Iniciar sesión", "Abrir documento"],
    },
}

MALWARE_LURE = {
    "subject": ["Invoice {inv}", "Payment confirmation", "Remittance advice {num}",
                "Purchase order {num}", "Shipping documents", "Re: {file}", "Scanned document",
                "Your order {num}", "Statement {quarter}", "Updated quotation", "DHL shipment {num}",
                "Signed contract", "Overdue account"],
    "body": ["Please see the attached {what} and confirm.", "Attached is the {what} you requested.",
             "Kindly find the {what} attached for your review.",
             "Please review the attached {what} at your earliest convenience.",
             "I've attached the {what}. Let me know if you have questions.",
             "Find attached {what}. Please process today.",
             "Here is the {what}, sorry for the delay."],
    "what": ["invoice", "payment confirmation", "remittance advice", "purchase order",
             "shipping documents", "signed contract", "statement", "quotation", "scan"],
}
CALLBACK = {
    "subject": ["Your subscription has been renewed", "Order confirmation #{num}",
                "Invoice {inv} - payment processed", "Thank you for your purchase",
                "Renewal notice: {product}", "Your account has been charged {amount}",
                "Receipt for order {num}", "Membership auto-renewal"],
    "body": ["Your {product} subscription was renewed for {amount}. The charge will appear on your statement within 24 hours.",
             "Thank you for your order {num}. {amount} has been charged to your account for {product}.",
             "This is to confirm your annual {product} plan was renewed. Amount: {amount}.",
             "Your payment of {amount} for {product} has been processed successfully."],
    "call": ["If you did not authorise this purchase, call our billing desk at {phone} within 24 hours.",
             "To cancel or request a refund, contact support at {phone}.",
             "Questions about this charge? Call {phone} (Mon-Fri).",
             "For any dispute, please reach us at {phone}."],
    "product": ["Norton 360 Deluxe", "McAfee Total Protection", "Geek Squad Protection",
                "PayPal Business", "Microsoft 365 Family", "Windows Defender Advanced",
                "Amazon Prime Business", "LifeLock Ultimate", "Best Buy Tech Support"],
}
EXTORTION = [
    "I know {secret} is one of your passwords. I installed malware on a site you visited and recorded you through your webcam. Send {btc} BTC to {wallet} within 48 hours or I will send the video to all your contacts.",
    "Your device was compromised months ago. I have access to your email {email} and your browsing history. Pay {btc} in Bitcoin to {wallet} and I will delete everything. You have two days.",
    "I am a hacker who gained access to your account. I have collected compromising material. Transfer the equivalent of ${usd} in BTC to {wallet}. Do not reply; I will know when the payment is made.",
]
ADVANCE_FEE = [
    "I am {name}, a lawyer representing the estate of a late client who shares your surname. An inheritance of {big} is unclaimed and I propose we work together to claim it. Reply with your full name and phone number.",
    "Congratulations! Your email address was selected in our annual international draw. You have won {big}. To claim, contact our agent with your name, address and a processing fee.",
    "I am {name}, a banker. There is a dormant account of {big} that I can transfer to you as next of kin. You will receive 40% for your help. Please treat this as strictly confidential.",
    "We are hiring remote payment processing agents. Earn {usd} per week working from home. Reply with your details to receive the contract.",
]
SPAM = {
    "subject": ["Lowest prices on {item}", "Get your {item} today", "{pct}% off {item}",
                "You've been pre-approved", "Boost your website traffic", "Limited time offer",
                "Make ${usd} a week from home", "Re: your request", "Final notice", "Hot deal inside",
                "Lose {n} pounds in {n} days", "Exclusive investment opportunity", "SEO proposal for {domain}"],
    "body": ["Buy {item} online without prescription. Discreet shipping worldwide.",
             "We can put {domain} on the first page of Google. Reply for a free audit.",
             "You are pre-approved for a loan up to ${usd}. No credit check.",
             "This crypto coin is about to go {pct}x. Get in before it's too late.",
             "Meet singles in your area tonight.", "Our clients earn ${usd} per week. Click to learn how.",
             "Premium replica watches at {pct}% off.", "We have a list of {num} decision makers in your industry. Interested?"],
    "item": ["Viagra", "Cialis", "replica watches", "weight loss pills", "CBD oil", "diet supplements",
             "cheap meds", "designer handbags"],
}
GRAYMAIL = {
    "subject": ["{pct}% off for {quarter}", "Don't miss our {event}", "New: {product} is here",
                "Last chance: early bird pricing", "Your exclusive invitation", "Join us {day}",
                "{n} ways to grow your business", "We miss you", "Register for {event}"],
    "body": ["Join thousands of professionals at {event}. Early bird tickets end {day}.",
             "Meet {product}: the easiest way to manage your team's work.",
             "Here are {n} tips to get more out of your budget this {quarter}.",
             "For a limited time, save {pct}% on annual plans.",
             "Register for our free webinar {day} at {time}."],
    "event": ["the Summit", "our annual conference", "the Growth Forum", "the Ops Expo", "the webinar series"],
    "product": ["TaskFlow", "LedgerPro", "ShipFast", "HireLoop", "DataDeck", "CloudVault"],
}

# --- safe: first contact from people nobody here has written to ---------------------------
COLD = {
    "applicant": (["Application for {role}", "{role} position", "Applying for the {role} role",
                   "Job application - {name}", "Re: {role} opening"],
                  ["I am writing to apply for the {role} position posted on your careers page. My CV is attached.",
                   "Please find attached my resume for the {role} role. I have {n} years of experience in the field.",
                   "I came across the {role} opening and would love to be considered. Attached is my CV.",
                   "A former colleague suggested I reach out about the {role} position. I've attached my resume."]),
    "prospect": (["Pricing question", "Request for quote", "Inquiry about your services",
                  "Looking for a supplier", "Question about {project}", "Demo request"],
                 ["We are evaluating providers for {project} and would like to understand your pricing for about {n}0 users.",
                  "Could you send a quote for {n} units? We'd need delivery by {day}.",
                  "I found you through a colleague. Do you offer support contracts for companies our size?",
                  "We'd like to schedule a demo {day}. Who would be the right person to talk to?"]),
    "outreach": (["Quick question", "Idea for {company}", "Following up", "{company} + us?",
                  "Partnership idea", "Introduction"],
                 ["I work with finance teams like yours to cut month-end close time. Would a short call {day} make sense?",
                  "Noticed you're hiring for operations roles. We help teams onboard faster. Open to a 15-minute chat?",
                  "Just following up on my note from last week. Happy to send a short overview if easier.",
                  "We recently helped a company similar to yours reduce freight costs by {pct}%. Worth a conversation?"]),
    "invitation": (["Speaking invitation: {event}", "Invitation to {event}", "Panel at {event}",
                    "Interview request"],
                   ["We would be delighted to have you speak at {event} on {day}. Details are below.",
                    "I'm a journalist writing about supply chains and would value a short comment from your team.",
                    "We are organising {event} and would love for your company to join a panel."]),
    "intro": (["Intro: {name} <> {first}", "Introduction - {name}", "Connecting you two"],
              ["{first}, meet {name}, who leads operations at {company}. I thought you two should talk about {project}.",
               "Introducing {name} from {company}; they are working on something relevant to your {project} work."]),
}
COLD_ROLES = ["Account Executive", "Data Engineer", "Office Manager", "Financial Analyst",
              "Customer Success Manager", "DevOps Engineer", "Marketing Coordinator", "Recruiter"]
COLD_EVENTS = ["the Supply Chain Summit", "FinOps Live", "the Regional Business Forum",
               "Operations Leaders Day", "the CFO Roundtable"]


# --- light paraphrase, applied alike to safe mail and attacks ---------------------------------
_SWAPS_EN = [
    ("I'm", "I am"), ("don't", "do not"), ("can't", "cannot"), ("it's", "it is"), ("we're", "we are"),
    ("I'll", "I will"), ("I've", "I have"), ("let's", "let us"), ("Thanks", "Thank you"),
    ("asap", "as soon as possible"), ("I need you to", "I'd like you to"), ("Can you", "Could you"),
    ("let me know", "tell me"), ("quick", "short"), ("today", "before end of day"),
    ("Please", "Pls"), ("please", "kindly"), ("urgent", "time-sensitive"), ("review", "look over"),
    ("send", "forward"), ("attached", "enclosed"), ("get back to me", "reply"),
]
_SWAP_TABLE = {}
for _a, _b in _SWAPS_EN:
    _SWAP_TABLE[_a] = _b
    _SWAP_TABLE.setdefault(_b, _a)
_SWAP_RE = re.compile(r"\b(" + "|".join(re.escape(k) for k in sorted(_SWAP_TABLE, key=len, reverse=True)) + r")\b")


def vary(text: str, rng: random.Random, lang: str = "en", *, p_swap: float = 0.3, p_typo: float = 0.06) -> str:
    """Swap phrasings (contractions, synonyms) and now and then slip a typo in, so that the
    same template rarely yields the same sentence twice."""
    if lang != "en" or not text:
        return text
    out = _SWAP_RE.sub(lambda m: _SWAP_TABLE[m.group(0)] if rng.random() < p_swap else m.group(0), text)
    if rng.random() < p_typo:
        words = out.split(" ")
        idx = [i for i, w in enumerate(words) if len(w) > 4 and w.isalpha()]
        if idx:
            i = rng.choice(idx)
            w = words[i]
            j = rng.randint(1, len(w) - 2)
            words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
            out = " ".join(words)
    if rng.random() < 0.08 and out.endswith("."):
        out = out[:-1]
    return out
