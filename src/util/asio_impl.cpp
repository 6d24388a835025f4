// Compiles Asio's out-of-line parts once for the whole program (BOOST_ASIO_SEPARATE_COMPILATION).
#include <boost/asio/impl/src.hpp>
// Beast likewise (BOOST_BEAST_SEPARATE_COMPILATION).
#include <boost/beast/src.hpp>
