"""Time deposits (整存整取) and large certificates of deposit (大额存单).

``domain`` holds terms, products, dates and posted rates; ``interest`` the pure interest engine
(term interest, early withdrawal, maturity, rollover, tax hook). Both are free of I/O so the
DB-backed service can use them from any transaction and tests can pin every figure.
"""
