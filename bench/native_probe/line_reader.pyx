# cython: language_level=3, boundscheck=False, wraparound=False
"""A probe, not part of ubltr: the InvoiceLines of a parsed document read below lxml's
Python API, on its C API (the xmlNode tree lxml itself holds), into one dict per line
of the same fields ubltr.parsing's line plan reads, as texts instead of element
objects.  bench/parse_native_probe.py times it against the plan's compiled Python
reader, to measure what a native reader would leave of parse's time (issue #21).
It handles the shapes the bench invoices have (one text node per leaf); a real
reader would also join split text and CDATA, and report lines for errors."""

from libc.string cimport strcmp
from lxml.includes.tree cimport xmlNode, xmlAttr
from lxml.includes.etreepublic cimport _Element
cimport lxml.includes.etreepublic as cetree

cetree.import_lxml__etree()

cdef const char* CBC = b"urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
cdef const char* CAC = b"urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
cdef int ELEMENT = 1
cdef int TEXT = 3
cdef int CDATA = 4

# leaves read by name (cbc), the first of each: (names, keys) tables
cdef const char* AC_NAMES[5]
AC_NAMES[:] = [b"ChargeIndicator", b"MultiplierFactorNumeric", b"Amount", b"BaseAmount", b"AllowanceChargeReason"]
AC_KEYS = ("charge", "factor", "amount", "base", "reason")
cdef const char* SUB_NAMES[4]
SUB_NAMES[:] = [b"TaxableAmount", b"TaxAmount", b"Percent", b"PerUnitAmount"]
SUB_KEYS = ("base", "amount", "pct", "per_unit")
cdef const char* CAT_NAMES[3]
CAT_NAMES[:] = [b"TaxExemptionReasonCode", b"TaxExemptionReason", b"Percent"]
CAT_KEYS = ("ecode", "ereason", "cat_pct")
cdef const char* SCHEME_NAMES[1]
SCHEME_NAMES[:] = [b"TaxTypeCode"]
SCHEME_KEYS = ("code",)
cdef const char* ITEM_NAMES[4]
ITEM_NAMES[:] = [b"Name", b"Description", b"BrandName", b"ModelName"]
ITEM_KEYS = ("name", "description", "brand", "model")
cdef const char* PRICE_NAMES[2]
PRICE_NAMES[:] = [b"PriceAmount", b"BaseQuantity"]
PRICE_KEYS = ("price", "base_qty")


cdef inline xmlNode* _element(xmlNode* n):
    """``n`` or the first element after it (NULL for none)."""
    while n != NULL and <int> n.type != ELEMENT:
        n = n.next
    return n


cdef inline bint _is(xmlNode* n, const char* ns, const char* name):
    return n.ns != NULL and strcmp(<const char*> n.name, name) == 0 and strcmp(<const char*> n.ns.href, ns) == 0


cdef str _text(xmlNode* n):
    """el.text of a leaf: its first text child (None for none)."""
    cdef xmlNode* t = n.children
    if t != NULL and (<int> t.type == TEXT or <int> t.type == CDATA) and t.content != NULL:
        return (<bytes> (<const char*> t.content)).decode("utf-8")
    return None


cdef str _attr(xmlNode* n, const char* name):
    cdef xmlAttr* a = n.properties
    while a != NULL:
        if a.ns == NULL and strcmp(<const char*> a.name, name) == 0:
            if a.children != NULL and a.children.content != NULL:
                return (<bytes> (<const char*> a.children.content)).decode("utf-8")
            return ""
        a = a.next
    return None


cdef bint _leaf(xmlNode* c, const char** names, tuple keys, dict k):
    """``c`` as one of the cbc leaves ``names`` (the first of each kept under its key)."""
    cdef int i
    if c.ns == NULL or strcmp(<const char*> c.ns.href, CBC) != 0:
        return False
    for i in range(len(keys)):
        if strcmp(<const char*> c.name, names[i]) == 0:
            if keys[i] not in k:
                k[keys[i]] = _text(c)
            return True
    return False


cdef void _leaves(xmlNode* parent, const char** names, tuple keys, dict k):
    cdef xmlNode* c = _element(parent.children)
    while c != NULL:
        _leaf(c, names, keys, k)
        c = _element(c.next)


cdef dict _subtotal(xmlNode* st):
    cdef dict k = {}
    cdef xmlNode* c = _element(st.children)
    cdef xmlNode* d
    while c != NULL:
        if not _leaf(c, SUB_NAMES, SUB_KEYS, k) and _is(c, CAC, b"TaxCategory"):
            d = _element(c.children)
            while d != NULL:
                if _is(d, CAC, b"TaxScheme"):
                    _leaves(d, SCHEME_NAMES, SCHEME_KEYS, k)
                else:
                    _leaf(d, CAT_NAMES, CAT_KEYS, k)
                d = _element(d.next)
        c = _element(c.next)
    return k


cdef list _subtotals(xmlNode* total):
    cdef list out = []
    cdef xmlNode* d = _element(total.children)
    while d != NULL:
        if _is(d, CAC, b"TaxSubtotal"):
            out.append(_subtotal(d))
        d = _element(d.next)
    return out


cdef void _item(xmlNode* it, dict k):
    cdef xmlNode* c = _element(it.children)
    cdef xmlNode* d
    while c != NULL:
        if not _leaf(c, ITEM_NAMES, ITEM_KEYS, k) and c.ns != NULL and strcmp(<const char*> c.ns.href, CAC) == 0:
            d = _element(c.children)
            while d != NULL:
                if _is(d, CBC, b"ID") and _is(c, CAC, b"SellersItemIdentification"):
                    k.setdefault("code", _text(d))
                elif _is(d, CBC, b"ID") and _is(c, CAC, b"AdditionalItemIdentification"):
                    k.setdefault("item_ids", []).append((_attr(d, b"schemeID") or "", _text(d)))
                elif _is(d, CBC, b"ItemClassificationCode") and _is(c, CAC, b"CommodityClassification"):
                    k.setdefault("classification", _text(d))
                elif _is(d, CBC, b"ProductTraceID") and _is(c, CAC, b"ItemInstance"):
                    k.setdefault("product_trace_id", _text(d))
                elif _is(d, CBC, b"SerialID") and _is(c, CAC, b"ItemInstance"):
                    k.setdefault("serial_id", _text(d))
                d = _element(d.next)
        c = _element(c.next)


cdef dict _line(xmlNode* ln):
    cdef dict k = {"line": ln.line}
    cdef dict ac
    cdef xmlNode* c = _element(ln.children)
    while c != NULL:
        if _is(c, CBC, b"InvoicedQuantity"):
            if "qty" not in k:
                k["qty"] = _text(c)
                k["unit"] = _attr(c, b"unitCode")
        elif _is(c, CBC, b"LineExtensionAmount"):
            k.setdefault("lea", _text(c))
        elif _is(c, CBC, b"Note"):
            k.setdefault("notes", []).append(_text(c))
        elif _is(c, CAC, b"AllowanceCharge"):
            ac = {}
            _leaves(c, AC_NAMES, AC_KEYS, ac)
            k.setdefault("acs", []).append(ac)
        elif _is(c, CAC, b"TaxTotal"):
            k["tax_total"] = True
            k.setdefault("subtotals", []).extend(_subtotals(c))
        elif _is(c, CAC, b"WithholdingTaxTotal"):
            k.setdefault("wsts", []).extend(_subtotals(c))
        elif _is(c, CAC, b"Delivery"):
            k["deliveries"] = k.get("deliveries", 0) + 1
        elif _is(c, CAC, b"Item"):
            _item(c, k)
        elif _is(c, CAC, b"Price"):
            _leaves(c, PRICE_NAMES, PRICE_KEYS, k)
        c = _element(c.next)
    return k


def read_lines(_Element root):
    """One dict of texts per cac:InvoiceLine child of ``root``, in document order."""
    cdef xmlNode* c = _element(root._c_node.children)
    cdef list out = []
    while c != NULL:
        if _is(c, CAC, b"InvoiceLine"):
            out.append(_line(c))
        c = _element(c.next)
    return out
